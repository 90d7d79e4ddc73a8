/// The file system the capture kernel unpacks its initramfs into (rootfs), chosen when arming.
///
/// Without `root=` the kernel makes rootfs a tmpfs, whose size limit is half the memory the kernel has when it
/// mounts it, before the compressed initramfs is freed. An initramfs larger than that is cut short: the kernel logs
/// "Initramfs unpacking failed: write error", the files after the cut are missing, and the one it was writing
/// stays open for writing for good (executing it fails with ETXTBSY). The archive is sorted, so what is cut is its
/// end: the network uploader and its libraries (`usr/`), never `/init` or the modules. `rootfstype=ramfs` has no
/// limit, but an initramfs larger than the free memory then makes the kernel run out of memory while unpacking and
/// panic ("System is deadlocked on memory"): no capture at all, not even to the local disk.
///
/// Measured on Debian 6.1 (init_size 63.6 MiB) with the S3 network initramfs (16.6 MiB compressed, 41.6 MiB
/// unpacked), `VM_CRASHKERNEL=N Tests/VM/run --kernel 6.1 netcapture`:
/// - 160M: the kernel had 82.3 MiB ("Memory: 84264K ... available"), so tmpfs held 41.1 MiB and cut the
///   uploader; with ramfs MemFree was 40.7 MiB at PID 1 and the dump was sent.
/// - 144M: ramfs, MemFree 24.4 MiB at PID 1, the dump was sent (158,528,653 bytes).
/// - 128M: ramfs ran out of memory while unpacking and the kernel panicked; tmpfs unpacked the head, and the
///   capture fell back to the local disk.
///
/// The diskless image (no disk modules: 16.0 MiB compressed, 39.2 MiB unpacked) with ramfs sent the dump at 144M
/// (MemFree 26.9 MiB at PID 1) and ran out of memory while unpacking at 136M, where the estimate below left 17.2 MiB
/// beside it: unpacking takes more than the estimate says, so `headroom` must cover that too.
///
/// So ramfs is chosen only when tmpfs would cut the initramfs and the whole of it still leaves `headroom`.
public enum CaptureRootFileSystem: String, Equatable, Sendable {
    case tmpfs
    case ramfs

    /// Memory the estimate of `freeWhileUnpacking` must leave beside the unpacked initramfs: what the kernel takes
    /// while unpacking beyond the estimate, then PID 1, its child steps and the uploader with an 8 MiB S3 part.
    /// 17.2 MiB was too little (the diskless image at 136M), 22.2 MiB enough (the image with disk modules at 144M).
    public static let headroom: UInt64 = 20 << 20

    /// The kernel's free memory while it unpacks, estimated as the reservation less the kernel's `init_size` and
    /// the compressed initramfs (2.5 MiB under what Debian 6.1 reported at 128M, 144M and 160M: init_size counts
    /// some memory the kernel gives back before then).
    public static func freeWhileUnpacking(reserved: UInt64, initSize: UInt64, compressed: UInt64) -> UInt64 {
        let taken = initSize + compressed
        return reserved > taken ? reserved - taken : 0
    }

    /// tmpfs unless tmpfs would cut the initramfs and ramfs leaves `headroom` beside all of it. A reservation of 0
    /// (unknown) keeps tmpfs.
    public static func choose(
        reservedBytes: UInt64, kernelInitSize: UInt64, compressedBytes: UInt64, unpackedBytes: UInt64
    ) -> CaptureRootFileSystem {
        let free = freeWhileUnpacking(reserved: reservedBytes, initSize: kernelInitSize, compressed: compressedBytes)
        guard unpackedBytes > free / 2 else { return .tmpfs }
        return unpackedBytes + headroom <= free ? .ramfs : .tmpfs
    }
}
