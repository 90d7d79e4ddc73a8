import DumpFormat
import OopsConfig

/// What arming did, for the status file and the journal.
public struct ArmOutcome: Equatable, Sendable {
    public var kernelImage: String
    public var kernelRelease: String
    public var commandLine: String
    public var image: ServiceStatus.Image
    public var modules: [String]
    public var dumpDirectory: String
    /// False when the same image was already loaded and nothing had to be done.
    public var loaded: Bool
    /// Seconds spent building or finding the capture initramfs, and in loading the kernel (0 when not measured):
    /// where an arming's time goes, logged with it.
    public var imageSeconds: Double = 0
    public var loadSeconds: Double = 0
    /// The initramfs step's own parts, `name=seconds` separated by spaces (empty when not measured).
    public var imagePhases = ""
    /// What the plan says of the kexec return (nil when neither action is kexec).
    public var returnKernel: ReturnKernelPlan?
    /// Why a network capture (`[Capture] Target=`) has no local target to fall back to; nil when it has one, or
    /// when dumps go to the local target only.
    public var localTargetMissing: String?

    /// Where the capture sends the dump, for the status message: the directory, or the network target and what
    /// follows when its upload fails.
    public func destination(networkTarget: String) -> String {
        guard !networkTarget.isEmpty else { return "dumps to \(dumpDirectory)" }
        guard let localTargetMissing else { return "dumps to \(networkTarget), else \(dumpDirectory)" }
        return "dumps to \(networkTarget) only, a failed upload takes the failure action (\(localTargetMissing))"
    }

    public init(
        kernelImage: String, kernelRelease: String, commandLine: String, image: ServiceStatus.Image,
        modules: [String], dumpDirectory: String, loaded: Bool
    ) {
        self.kernelImage = kernelImage
        self.kernelRelease = kernelRelease
        self.commandLine = commandLine
        self.image = image
        self.modules = modules
        self.dumpDirectory = dumpDirectory
        self.loaded = loaded
    }
}

/// Makes the machine ready to capture a crash with a given configuration, or undoes it.
/// The daemon depends on this seam so its loop is testable without a kernel.
public protocol Arming: Sendable {
    /// Builds what is needed and loads the capture kernel; throws an error whose description
    /// is a sentence that says what to do.
    func arm(_ configuration: OopsConfiguration) throws -> ArmOutcome
    /// Unloads the capture kernel.
    func disarm() throws
    /// Paths whose change should trigger a re-arm (kernel image directory, module tree).
    func watchedPaths(_ configuration: OopsConfiguration) -> [String]
    /// Whether CPU or memory hotplug requires reloading (the kernel does not update the
    /// crash headers itself).
    func hotplugNeedsReload() -> Bool
}

extension ServiceStatus {
    /// Records a successful arm: armed, what was loaded, and when (only when something was loaded).
    public mutating func record(_ outcome: ArmOutcome) {
        armed = true
        kernelImage = outcome.kernelImage
        kernelRelease = outcome.kernelRelease
        commandLine = outcome.commandLine
        image = outcome.image
        modules = outcome.modules
        dumpDirectory = outcome.dumpDirectory
        localTargetMissing = outcome.localTargetMissing
        lastError = nil
        if outcome.loaded { lastArmTime = ServiceStatus.now() }
    }
}
