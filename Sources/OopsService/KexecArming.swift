import DumpFormat
import FoundationEssentials
import Initramfs
import KernelInterfaces
import OopsConfig
import SystemCalls
import VMCore

/// Arms for real: builds (or reuses) the capture initramfs and loads the capture kernel with
/// `kexec_file_load(KEXEC_FILE_ON_CRASH)`.
public struct KexecArming: Arming {
    public var root: HostRoot
    /// The `oopsd-capture` executable that becomes the initramfs's `/init` (absolute, inside root).
    public var captureBinary: String
    /// The running kernel's release (`uname -r`).
    public var runningRelease: String
    public var kexec: Kexec

    /// Where the identity of the loaded image is remembered, so an unchanged re-arm loads nothing.
    public static let loadedRecord = "/run/oopsd/loaded"

    public init(root: HostRoot, captureBinary: String, runningRelease: String, kexec: Kexec? = nil) {
        self.root = root
        self.captureBinary = captureBinary
        self.runningRelease = runningRelease
        self.kexec = kexec ?? Kexec(root: root)
    }

    /// The capture kernel image and its release: `[Kernel] Image=` (release taken from a `vmlinuz-<release>` or
    /// `modules/<release>/vmlinuz` path, else the running one) or the running kernel's image where Debian puts it,
    /// `/boot/vmlinuz-<release>` or `/usr/lib/modules/<release>/vmlinuz`.
    public func kernel(for configuration: OopsConfiguration) -> (image: String, release: String) {
        let configured = configuration.kernel.image
        if configured.isEmpty {
            return (KernelRelease.defaultImage(release: runningRelease, root: root), runningRelease)
        }
        return (configured, KernelRelease.release(ofImage: configured) ?? runningRelease)
    }

    public func arm(_ configuration: OopsConfiguration) throws -> ArmOutcome {
        let (kernelImage, release) = kernel(for: configuration)
        if configuration.kernel.image.isEmpty, KernelRelease.installedImage(release: release, root: root) == nil {
            throw KexecError.noImage(release: release, looked: KernelRelease.imageCandidates(release: release))
        }
        let capture = configuration.capture
        guard let dumpLevel = DumpLevel(capture.dumpLevel) else {
            throw CapturePlanError(line: 0, message: "dump_level: expected 0 to 31, found \"\(capture.dumpLevel)\"")
        }
        var request = CaptureImageRequest(
            root: root, kernelRelease: release, captureBinary: captureBinary, directory: capture.directory,
            extraModules: configuration.kernel.extraModules,
            settings: CaptureSettings(
                dumpLevel: dumpLevel, format: capture.format, compression: capture.compression,
                timeoutSeconds: Int(capture.timeout.seconds), finalAction: capture.finalAction,
                failureAction: capture.failureAction),
            returnKernel: returnKernel(for: configuration, image: kernelImage, release: release))
        Self.prefetch(kernel: root.path(kernelImage), cacheDirectory: root.path(request.cacheDirectory))
        request.upload = try CaptureTargetFreeze.upload(
            configuration, root: root, captureBinary: captureBinary, environment: Self.environment())
        let started = MonotonicClock.microseconds
        let image = try CaptureImageBuilder.build(request)
        let imageReady = MonotonicClock.microseconds
        var extra = configuration.kernel.commandLine
        if configuration.kernel.oopsModule {
            // The module must be loaded before the capture kernel: its breadcrumb address goes on the command line.
            let module = OopsModule(root: root, release: runningRelease)
            try module.ensureLoaded()
            if let address = module.breadcrumbAddress() {
                extra.insert("\(Breadcrumb.commandLineParameter)=0x\(String(address, radix: 16))", at: 0)
            }
        }
        let commandLine = try CaptureCommandLine.derive(
            root: root, panicSeconds: max(1, Int(configuration.kernel.panicTimeout.seconds)), cpus: capture.cpus,
            extra: extra.joined(separator: " "), rootFileSystem: rootFileSystem(kernel: kernelImage, image: image))

        let identity = "\(kernelImage)\n\(image.key)\n\(commandLine)\n"
        let recordPath = root.path(Self.loadedRecord)
        let previous = try? FileSystem.readText(recordPath)
        let alreadyLoaded = previous == identity && ((try? kexec.isLoaded()) ?? false)
        let loadStarted = MonotonicClock.microseconds
        if !alreadyLoaded {
            try kexec.load(kernel: kernelImage, initramfs: image.path, commandLine: commandLine)
            try? FileSystem.makeDirectory(Path.parent(recordPath), parents: true)
            try? FileSystem.writeAtomically(recordPath, Array(identity.utf8))
        }
        let loadDone = MonotonicClock.microseconds
        let built = (try? FileSystem.status(root.path(image.path)))?.modificationSeconds ?? 0
        var outcome = ArmOutcome(
            kernelImage: kernelImage, kernelRelease: release, commandLine: commandLine,
            image: ServiceStatus.Image(
                path: image.path, bytes: image.compressedSize, unpackedBytes: image.unpackedSize, sha256: image.key,
                builtAt: ServiceStatus.iso8601(epochSeconds: built), reused: image.reused),
            modules: image.plan.modules, dumpDirectory: capture.directory, loaded: !alreadyLoaded)
        outcome.imageSeconds = Double(imageReady - started) / 1e6
        outcome.loadSeconds = Double(loadDone - loadStarted) / 1e6
        outcome.imagePhases = image.phases.map { "\($0.name)=\(($0.seconds * 1000).rounded() / 1000)" }.joined(
            separator: " ")
        outcome.returnKernel = image.plan.returnKernel
        outcome.localTargetMissing = image.localTargetMissing
        return outcome
    }

    /// The capture kernel's rootfs for `image` in the current reservation (`CaptureRootFileSystem.choose`); tmpfs when
    /// the reservation or the kernel's `init_size` cannot be read.
    func rootFileSystem(kernel: String, image: CaptureImage) -> CaptureRootFileSystem {
        guard let reserved = (try? CrashReservation.read(root: root))?.size,
            let header = try? BzImageHeader.read(path: root.path(kernel))
        else { return .tmpfs }
        return CaptureRootFileSystem.choose(
            reservedBytes: reserved, kernelInitSize: UInt64(header.initSize), compressedBytes: image.compressedSize,
            unpackedBytes: image.unpackedSize)
    }

    /// What `FinalAction=kexec` returns to: `[Capture] ReturnKernel=` (else the armed image) and
    /// `ReturnInitramfs=` (else Debian's `/boot/initrd.img-<release>`) with the running command line; nil when
    /// neither action is kexec.
    func returnKernel(for configuration: OopsConfiguration, image: String, release: String) -> ReturnKernelRequest? {
        let capture = configuration.capture
        guard capture.finalAction == .kexec || capture.failureAction == .kexec else { return nil }
        let commandLine = (try? FileSystem.readText(root.path("/proc/cmdline"))) ?? ""
        return ReturnKernelRequest(
            kernel: capture.returnKernel.isEmpty ? image : capture.returnKernel,
            initramfs: capture.returnInitramfs.isEmpty ? "/boot/initrd.img-\(release)" : capture.returnInitramfs,
            // Without the marker of an earlier return: the capture adds its own, and the same plan after a return
            // finds the same image in the cache.
            commandLine: String(commandLine.split(separator: "\n").first ?? "").split(separator: " ").filter {
                !$0.hasPrefix(ReturnKernelFiles.afterCrashParameter + "=")
            }.joined(separator: " "))
    }

    /// Starts reading the kernel image and the cached initramfs into the page cache while the initramfs step runs:
    /// at boot they come from the disk, and kexec_file_load reading them then was most of its time (under TCG 4 s of
    /// 10 for Debian's 8 MB kernel). Best effort: a file that cannot be read fails the load itself, with its error.
    static func prefetch(kernel: String, cacheDirectory: String) {
        let images = ((try? FileSystem.listDirectory(cacheDirectory)) ?? []).filter {
            $0.hasPrefix("initramfs-") && $0.hasSuffix(".img")
        }
        for path in [kernel] + images.map({ Path.join(cacheDirectory, $0) }) { try? FileSystem.prefetch(path) }
    }

    /// `$CREDENTIALS_DIRECTORY`, the one variable credentials are looked up by (`S3Credentials.load`).
    static func environment() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { $0.key == "CREDENTIALS_DIRECTORY" }
    }

    public func disarm() throws {
        try kexec.unload()
        try? FileSystem.remove(root.path(Self.loadedRecord))
    }

    public func watchedPaths(_ configuration: OopsConfiguration) -> [String] {
        let (image, release) = kernel(for: configuration)
        // Without Image=, every place the image may appear: a kernel installed into /boot later re-arms too.
        let images = configuration.kernel.image.isEmpty ? KernelRelease.imageCandidates(release: release) : [image]
        var paths: [String] = []
        var returnFiles: [String] = []
        if let request = returnKernel(for: configuration, image: image, release: release) {
            returnFiles = [Path.parent(request.kernel), Path.parent(request.initramfs)]
        }
        for path in images.map(Path.parent) + ["/lib/modules/\(release)", captureBinary] + returnFiles
        where !paths.contains(path) {
            paths.append(path)
        }
        return paths
    }

    public func hotplugNeedsReload() -> Bool {
        guard let hotplug = try? CrashHotplug.read(root: root) else { return true }
        return hotplug.cpuEventNeedsReload || hotplug.memoryEventNeedsReload
    }
}
