import DumpFormat
import KernelInterfaces
import PortableDigest
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `FinalAction=kexec`: loads the production kernel and initramfs the plan names, from the mounted dump target,
/// checked against the SHA-256 frozen at arm time, with the production kernel's boot parameters and memory map
/// frozen into the initramfs, so that reboot(LINUX_REBOOT_CMD_KEXEC) returns to production without the firmware.
/// Every failure is logged and answered with false: the caller reboots through the firmware instead.
struct ReturnToProduction {
    /// Where the dump target is mounted.
    var mountPoint: String
    let log: (String) -> Void
    /// The largest kernel or initramfs accepted: bigger files are not what arming hashed, or do not fit anyway.
    static let largestFile = 1 << 30

    /// Loads the return kernel for `plan`; `dumpName` goes into its command line. True when loaded.
    func load(_ plan: CapturePlan, dumpName: String?) -> Bool {
        switch plan.returnKernel {
        case nil:
            log("kexec: the capture plan holds no return kernel; rebooting through the firmware")
            return false
        case .unavailable(let reason)?:
            log("kexec: unavailable since arming (\(reason)); rebooting through the firmware")
            return false
        case .available(let files)?:
            do {
                try load(files, dumpName: dumpName)
                return true
            } catch {
                log("kexec: \(error); rebooting through the firmware")
                return false
            }
        }
    }

    private func load(_ files: ReturnKernelFiles, dumpName: String?) throws {
        let template = try FileSystem.readBytes(BootParams.pathInInitramfs, limit: BootParams.size + 1)
        let memmap = try FirmwareMemoryMap.parse(
            try FileSystem.readText(FirmwareMemoryMap.pathInInitramfs), path: FirmwareMemoryMap.pathInInitramfs)
        let kernel = try VerifiedFile(
            path: Path.join(mountPoint, files.kernel), sha256: files.kernelSHA256, largest: Self.largestFile)
        // Sound because both maps are unmapped by these defers, after the last read of their bytes below.
        defer { unsafe kernel.map.unmap() }
        let initramfs = try VerifiedFile(
            path: Path.join(mountPoint, files.initramfs), sha256: files.initramfsSHA256, largest: Self.largestFile)
        defer { unsafe initramfs.map.unmap() }
        let commandLine = files.returnCommandLine(dumpName: dumpName)
        let captureRAM = UInt64(max(0, SystemMemory.field("MemTotal:", in: "/proc/meminfo") ?? 0)) * 1024
        let layout = try unsafe ReturnKernelLayout(
            kernelPrefix: Array(kernel.map.bytes.prefix(0x400)), kernelSize: kernel.map.bytes.count,
            kernelPath: files.kernel, initramfsSize: initramfs.map.bytes.count, commandLine: commandLine,
            template: template, templatePath: BootParams.pathInInitramfs, firmwareMap: memmap,
            captureRAM: captureRAM)
        do {
            try unsafe layout.load(
                kernelFile: kernel.map.bytes, initramfsFile: initramfs.map.bytes, calls: LinuxKexecSystemCalls())
        } catch let error as SystemError where error.errno == .notPermitted {
            let disabled = (try? KernelFile.flag("/proc/sys/kernel/kexec_load_disabled", root: .system)) ?? nil
            let lockdown = (try? LockdownMode.read(root: .system)) ?? LockdownMode.none
            throw ReturnKernelError(
                "kexec_load refused (EPERM): kexec_load_disabled=\(disabled.map { $0 ? "1" : "0" } ?? "?"), "
                    + "lockdown=\(lockdown.rawValue) (a locked-down kernel allows only signed kexec_file_load)")
        }
        let ram = E820Map.ram(try E820Map.entries(inBootParams: template, path: BootParams.pathInInitramfs))
        let ramBytes = ram.reduce(UInt64(0)) { $0 + ($1.end - $1.start) }
        log(
            unsafe "kexec: loaded \(files.kernel) at 0x\(String(layout.kernel, radix: 16)) (\(kernel.map.bytes.count) bytes), "
                + "\(files.initramfs) at 0x\(String(layout.initramfs, radix: 16)) (\(initramfs.map.bytes.count) bytes), "
                + "purgatory at 0x\(String(layout.entry, radix: 16)); firmware RAM \(ramBytes >> 20) MiB in "
                + "\(ram.count) ranges; command line: \(commandLine)")
    }
}

/// A kernel or initramfs on the dump target, mapped read-only (page cache, which the kernel can reclaim, rather
/// than a copy in the capture's own memory) and checked against its frozen SHA-256.
// Sound because the mapping is unmapped only by its owner after the kexec_file_load that reads it returns.
@safe private struct VerifiedFile {
    let map: MemoryMap

    init(path: String, sha256: String, largest: Int) throws {
        let fd = try FileDescriptor.openRegularFile(path)
        defer { try? fd.close() }
        let size = try fd.status().size
        guard size > 0, size <= UInt64(largest) else {
            throw ReturnKernelError("\(path) has \(size) bytes, expected 1 to \(largest)")
        }
        // Sound because the map is read only while held, and unmapped here when the digest does not match.
        unsafe map = try unsafe MemoryMap.map(fd, offset: 0, count: Int(size))
        var hash = PortableSHA256()
        unsafe hash.update(map.bytes)
        let found = hash.hexDigest()
        guard found == sha256 else {
            unsafe map.unmap()
            throw ReturnKernelError("\(path) changed since oopsd armed: SHA-256 \(found), the plan says \(sha256)")
        }
    }
}
