import CShim

/// Whether the capture kernel unpacked the whole initramfs. When it cannot (its rootfs is full, memory runs out,
/// the archive is damaged) it says so once in its log and goes on booting: the files after that point are
/// missing, and the one it was writing is cut short and stays open for writing, so executing it fails with
/// ETXTBSY. The capture reads its own kernel's log to say which.
public enum InitramfsUnpack {
    /// What the kernel logs: `Initramfs unpacking failed: REASON`, or with `CONFIG_BLK_DEV_RAM=y`
    /// `rootfs image is not initramfs (REASON); looks like an initrd`.
    static let markers: [(start: String, end: String)] = [
        ("Initramfs unpacking failed: ", ""), ("rootfs image is not initramfs (", "); looks like an initrd"),
    ]

    /// The kernel's reason (`write error`) when `log` (the text of the kernel's log) says the initramfs was not
    /// unpacked whole; nil when it does not.
    public static func failure(inKernelLog log: String) -> String? {
        for line in log.split(separator: "\n", omittingEmptySubsequences: true) {
            for marker in markers {
                guard let start = line.firstRange(of: marker.start) else { continue }
                var reason = line[start.upperBound...]
                if !marker.end.isEmpty, let end = reason.firstRange(of: marker.end) {
                    reason = reason[..<end.lowerBound]
                }
                return String(reason.prefix(200))
            }
        }
        return nil
    }

    /// The kernel's reason from this kernel's own log (klogctl); nil when the initramfs was unpacked whole or the
    /// log cannot be read.
    public static func failure() -> String? {
        let size = Int(oops_kernel_log_size())
        guard size > 0, size <= 64 << 20 else { return nil }
        var buffer = [CChar](repeating: 0, count: size)
        // Sound because klogctl writes at most `size` bytes into the buffer of that size.
        let count = unsafe buffer.withUnsafeMutableBufferPointer {
            unsafe oops_kernel_log($0.baseAddress!, Int32(size))
        }
        guard count > 0 else { return nil }
        let bytes = buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }
        return failure(inKernelLog: String(decoding: bytes, as: UTF8.self))
    }
}
