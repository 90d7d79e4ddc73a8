import Digest
import DumpFormat
import KernelInterfaces
import SystemCalls

/// What arming needs to prepare `FinalAction=kexec`: the production kernel and initramfs (host paths) and the
/// production command line.
public struct ReturnKernelRequest: Equatable, Sendable {
    /// The kernel to return to (absolute, inside the root).
    public var kernel: String
    /// Its initramfs (absolute, inside the root).
    public var initramfs: String
    /// The production command line (`/proc/cmdline`).
    public var commandLine: String

    public init(kernel: String, initramfs: String, commandLine: String) {
        self.kernel = kernel
        self.initramfs = initramfs
        self.commandLine = commandLine
    }
}

/// Freezes the return to production at arm time: where the capture kernel finds the two files (paths inside
/// the dump target's file system, the only one it mounts), their SHA-256, and the production kernel's boot
/// parameters and firmware memory map, which go into the initramfs. Whatever is missing makes the plan say
/// the return is unavailable, with the reason; arming goes on.
public enum ReturnKernelFreeze {
    /// The plan entry and the files for the initramfs (path inside it, bytes).
    public struct Frozen: Equatable, Sendable {
        public var plan: ReturnKernelPlan
        public var files: [ReturnKernelFile]
    }

    /// A file frozen into the initramfs.
    public struct ReturnKernelFile: Equatable, Sendable {
        public var path: String
        public var bytes: [UInt8]
    }

    /// Freezes `request` for a dump target `target`.
    public static func freeze(_ request: ReturnKernelRequest, target: DumpTarget, root: HostRoot) -> Frozen {
        do {
            let kernel = try locate(request.kernel, target: target, root: root)
            let initramfs = try locate(request.initramfs, target: target, root: root)
            let header = try BzImageHeader.read(path: root.path(kernel.realPath))
            let kernelSize = Int((try FileSystem.status(root.path(kernel.realPath)))?.size ?? 0)
            try header.checkEnterable64(path: request.kernel, fileSize: kernelSize)
            let params = BootParams.canonicalTemplate(
                try FileSystem.readBytes(root.path(BootParams.sysfsPath), limit: BootParams.size + 1))
            let memmap = try FirmwareMemoryMap.read(root: root)
            // The same check the capture makes, now, so that a map it would refuse is reported at arm time.
            _ = try E820Map.checked(
                try E820Map.entries(inBootParams: params, path: BootParams.sysfsPath),
                firmwareRAM: FirmwareMemoryMap.ram(memmap), path: BootParams.sysfsPath)
            guard !request.commandLine.contains("\n") else {
                throw ReturnKernelError("the production command line holds a line break")
            }
            let files = ReturnKernelFiles(
                kernel: kernel.pathInFileSystem, kernelSHA256: try sha256(root.path(kernel.realPath)),
                initramfs: initramfs.pathInFileSystem, initramfsSHA256: try sha256(root.path(initramfs.realPath)),
                fileSystemUUID: target.identity.uuid, commandLine: request.commandLine)
            return Frozen(
                plan: .available(files),
                files: [
                    ReturnKernelFile(path: BootParams.pathInInitramfs, bytes: params),
                    ReturnKernelFile(
                        path: FirmwareMemoryMap.pathInInitramfs, bytes: Array(FirmwareMemoryMap.text(memmap).utf8)),
                ])
        } catch {
            return Frozen(plan: .unavailable(reason: "\(error)".replacingLineBreaks()), files: [])
        }
    }

    /// The file's real path (inside the root) and its path inside the dump target's file system; throws when it
    /// is missing or on another file system.
    static func locate(
        _ path: String, target: DumpTarget, root: HostRoot
    ) throws -> (
        realPath: String, pathInFileSystem: String
    ) {
        guard let resolved = try HostPathResolver(root: root).resolve(path) else {
            throw ReturnKernelError("\(path) does not exist (set [Capture] ReturnKernel= / ReturnInitramfs=)")
        }
        let holder = try DumpTarget(directory: Path.parent(resolved.realPath), root: root)
        guard holder.identity.uuid == target.identity.uuid else {
            throw ReturnKernelError(
                "\(path) is on the file system with UUID \(holder.identity.uuid), the dump target \(target.directory) "
                    + "on \(target.identity.uuid); the capture kernel mounts only the dump target's file system")
        }
        return (resolved.realPath, Path.join(holder.directoryInFileSystem, Path.lastComponent(resolved.realPath)))
    }

    static func sha256(_ path: String) throws -> String {
        let fd = try FileDescriptor.open(path)
        defer { try? fd.close() }
        var hash = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            // Sound because the read fills at most the borrowed buffer's count bytes.
            let count = try unsafe buffer.withUnsafeMutableBytes { try unsafe fd.read(into: $0) }
            if count == 0 { break }
            hash.update(buffer[0..<count])
        }
        return hash.hexDigest()
    }
}

extension String {
    func replacingLineBreaks() -> String {
        String(map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
