import Digest
import DumpFormat
import KernelInterfaces
import SystemCalls

/// Everything that decides a capture initramfs: plain values, so the service and the CLI can fill them from
/// the configuration.
public struct CaptureImageRequest: Equatable, Sendable {
    /// Where host paths are resolved (`/` on a real machine).
    public var root: HostRoot
    /// The release of the capture kernel (whose modules go in).
    public var kernelRelease: String
    /// The `oopsd-capture` executable (absolute, inside the root); it becomes `/init`.
    public var captureBinary: String
    /// `[Capture] Directory=`.
    public var directory: String
    /// `[Kernel] ExtraModules=`: module names or aliases that must be included.
    public var extraModules: [String]
    /// `[Capture] DumpLevel=`, `Format=`, `Compression=`, `Timeout=`, `FinalAction=`, `FailureAction=`.
    public var settings: CaptureSettings
    /// The archive codec; nil chooses from `/boot/config-<release>`.
    public var archiveCompression: InitramfsCompression?
    /// The cache directory (absolute, inside the root).
    public var cacheDirectory: String
    /// What `FinalAction=kexec` returns to; nil when neither action is kexec.
    public var returnKernel: ReturnKernelRequest?
    /// `[Capture] Target=s3://...` or `sftp://...`: what the capture kernel needs to send the dump over the network.
    public var upload: CaptureUpload?

    public init(
        root: HostRoot = .system, kernelRelease: String, captureBinary: String, directory: String,
        extraModules: [String] = [], settings: CaptureSettings = CaptureSettings(),
        archiveCompression: InitramfsCompression? = nil, cacheDirectory: String = "/var/lib/oopsd",
        returnKernel: ReturnKernelRequest? = nil
    ) {
        self.returnKernel = returnKernel
        self.root = root
        self.kernelRelease = kernelRelease
        self.captureBinary = captureBinary
        self.directory = directory
        self.extraModules = extraModules
        self.settings = settings
        self.archiveCompression = archiveCompression
        self.cacheDirectory = cacheDirectory
        self.upload = nil
    }
}

/// A built (or reused) capture initramfs.
public struct CaptureImage: Equatable, Sendable {
    /// The image file (absolute, inside the root): `<cache>/initramfs-<key>.img`.
    public var path: String
    /// SHA-256 of all inputs (the uncompressed archive and the codec), hex.
    public var key: String
    /// The archive codec used.
    public var compression: InitramfsCompression
    /// Bytes of the image file.
    public var compressedSize: UInt64
    /// Bytes of the uncompressed cpio archive.
    public var archiveSize: UInt64
    /// Bytes of file contents once unpacked.
    public var unpackedSize: UInt64
    /// The frozen plan inside it.
    public var plan: CapturePlan
    /// Shared libraries copied (the paths ld.so opens).
    public var libraries: [String]
    /// Requested modules that are built into the kernel (nothing to copy).
    public var builtInModules: [String]
    /// The dump target found; nil for a network capture on a machine with no local one (`localTargetMissing`).
    public var target: DumpTarget?
    /// Why a network capture has no local target to fall back to (the directory is on no block device, or missing):
    /// a failed upload then takes the failure action. Nil when the local target was found.
    public var localTargetMissing: String?
    /// True when the cache already held this image and nothing was built.
    public var reused: Bool
    /// Where the time went, step by step (monotonic seconds), for the journal.
    public var phases: [Phase] = []

    /// One step of `CaptureImageBuilder.build` and its duration.
    public struct Phase: Equatable, Sendable {
        public var name: String
        public var seconds: Double
    }
}

/// Builds the capture initramfs: `/init` (oopsd-capture), its shared libraries with their symlinks, the
/// modules that reach the dump target, the frozen plan; named by a hash of the archive, and found again
/// without reading the files when their metadata has not changed (`CaptureImageCache`).
public enum CaptureImageBuilder {
    /// Builds the image for `request`, or finds it in the cache.
    public static func build(_ request: CaptureImageRequest) throws(InitramfsError) -> CaptureImage {
        let root = request.root
        var phases = PhaseClock()
        // A network capture needs no local target: a diskless machine has none, and its failed upload takes the
        // failure action. Without `Target=` the local target is the only one, and its absence an error.
        let target: DumpTarget?
        var localTargetMissing: String?
        do { target = try DumpTarget(directory: request.directory, root: root) } catch {
            guard request.upload != nil else { throw error }
            target = nil
            localTargetMissing = "\(error)"
        }
        phases.end("target")
        let index = try KernelModuleIndex(root: root, release: request.kernelRelease)
        phases.end("kmod")
        let closure = try ModuleClosure(
            required: (target?.requiredModules ?? []) + request.extraModules
                + (request.upload?.interface.walk.driverModules ?? []),
            optional: (target?.deviceModules ?? []) + (request.upload?.interface.walk.modaliases ?? []), index: index)
        let modulePaths = closure.modules.compactMap { module in
            module.path.map { path in root.prefix.isEmpty ? path : String(path.dropFirst(root.prefix.count)) }
        }
        phases.end("modules")
        let frozenReturn = request.returnKernel.map { returnKernel in
            target.map { ReturnKernelFreeze.freeze(returnKernel, target: $0, root: root) }
                ?? ReturnKernelFreeze.Frozen(
                    plan: .unavailable(
                        reason: ("the capture kernel reads the return kernel from the local dump target, and there "
                            + "is none (\(localTargetMissing ?? ""))").replacingLineBreaks()),
                    files: [])
        }
        // No local target: empty UUID, type and directory, which the capture reads as "network only".
        let plan = CapturePlan(
            kernelRelease: request.kernelRelease, targetUUID: target?.identity.uuid ?? "",
            targetType: target?.identity.type ?? "", targetDirectory: target?.directoryInFileSystem ?? "",
            directory: request.directory, settings: request.settings,
            modules: modulePaths, returnKernel: frozenReturn?.plan)
        let planText: String
        do { planText = try plan.text() } catch { throw .plan(error) }

        phases.end("plan")
        let libraries = try LibraryClosure(executable: request.captureBinary, root: root)
        phases.end("libraries")
        var contents = CaptureImageContents()
        contents.addDirectory("dev")
        contents.add(CpioEntry(path: "dev/console", kind: .characterDevice(major: 5, minor: 1), permissions: 0o600))
        for directory in ["proc", "sys", "run", "tmp", "mnt"] { contents.addDirectory(directory) }
        for item in libraries.items {
            for link in item.resolution.links { contents.addSymlink(link.path, target: link.target) }
            let real = item.resolution.realPath
            contents.addHostFile(real, from: root.path(real), permissions: nil)
        }
        contents.addHostFile("init", from: root.path(request.captureBinary), permissions: 0o755)
        for path in modulePaths { contents.addHostFile(path, from: root.path(path)) }
        contents.addFile(CapturePlan.pathInInitramfs, contents: Array(planText.utf8))
        for file in frozenReturn?.files ?? [] { contents.addFile(file.path, contents: file.bytes, permissions: 0o600) }
        var uploaderLibraries: [String] = []
        if let upload = request.upload {
            // The helper and its DT_NEEDED closure; libraries /init already brought are not added twice.
            let closure = try LibraryClosure(executable: upload.uploaderBinary, root: root)
            let present = Set(libraries.items.map(\.path))
            for item in closure.items where !present.contains(item.path) {
                for link in item.resolution.links { contents.addSymlink(link.path, target: link.target) }
                let real = item.resolution.realPath
                contents.addHostFile(real, from: root.path(real), permissions: nil)
                uploaderLibraries.append(item.path)
            }
            contents.addHostFile(
                CaptureNetwork.uploaderPathInInitramfs, from: root.path(upload.uploaderBinary),
                permissions: 0o755)
            contents.addFile(CaptureNetwork.pathInInitramfs, contents: Array(upload.interface.network.text().utf8))
            // The credentials: root-only, and only here (never on the kernel command line).
            contents.addFile(
                CaptureNetwork.targetPathInInitramfs, contents: Array(upload.targetText.utf8), permissions: 0o600)
            for file in upload.secretFiles { contents.addFile(file.path, contents: file.bytes, permissions: 0o600) }
        }

        let codec =
            request.archiveCompression
            ?? InitramfsCompression.choose(
                kernelConfig: try? FileSystem.readText(
                    root.path(KernelRelease.configFile(release: request.kernelRelease, root: root))))
        phases.end("config")
        let header = "oopsd capture initramfs 1 \(codec.rawValue) zstd-window \(InitramfsCompression.zstdWindowLog)\n"
        let cache = CaptureImageCache(directory: root.path(request.cacheDirectory))
        let fingerprint = try contents.fingerprint(header: header)
        phases.end("fingerprint")
        if let hit = cache.lookup(fingerprint: fingerprint) {
            phases.end("lookup")
            return CaptureImage(
                path: Path.join(request.cacheDirectory, CaptureImageCache.imageName(key: hit.key)), key: hit.key,
                compression: codec, compressedSize: hit.compressedSize, archiveSize: hit.archiveSize,
                unpackedSize: hit.unpackedSize, plan: plan, libraries: libraries.items.map(\.path) + uploaderLibraries,
                builtInModules: closure.builtIn, target: target, localTargetMissing: localTargetMissing, reused: true,
                phases: phases.phases)
        }

        phases.end("lookup")
        let writer = try contents.archive()
        let archive = writer.bytes()
        phases.end("archive")
        var hash = SHA256()
        hash.update(header)
        hash.update(archive)
        let key = hash.hexDigest()
        let imagePath = Path.join(request.cacheDirectory, CaptureImageCache.imageName(key: key))
        let hostImagePath = root.path(imagePath)

        // No record for these inputs: compress and write even when an image of this name exists, since
        // nothing vouches for that file's bytes.
        let compressed = try codec.compress(archive)
        let compressedSize = UInt64(compressed.count)
        phases.end("compress")
        do {
            try FileSystem.makeDirectory(root.path(request.cacheDirectory), mode: 0o700, parents: true)
            try FileSystem.writeAtomically(hostImagePath, compressed, mode: 0o600)
        } catch { throw .file(doing: "caching the capture initramfs", cause: SystemError(caught: error)) }
        let entry = CaptureImageCache.Entry(
            key: key, compressedSize: compressedSize, archiveSize: UInt64(archive.count),
            unpackedSize: writer.unpackedSize)
        try cache.record(entry, fingerprint: fingerprint)
        phases.end("write")
        return CaptureImage(
            path: imagePath, key: key, compression: codec, compressedSize: compressedSize,
            archiveSize: UInt64(archive.count), unpackedSize: writer.unpackedSize, plan: plan,
            libraries: libraries.items.map(\.path) + uploaderLibraries, builtInModules: closure.builtIn, target: target,
            localTargetMissing: localTargetMissing, reused: false, phases: phases.phases)
    }
}

/// Times the steps of a build: each `end` closes the step that began at the previous one.
private struct PhaseClock {
    private(set) var phases: [CaptureImage.Phase] = []
    private var last = MonotonicClock.microseconds

    mutating func end(_ name: String) {
        let now = MonotonicClock.microseconds
        phases.append(CaptureImage.Phase(name: name, seconds: Double(now &- last) / 1e6))
        last = now
    }
}
