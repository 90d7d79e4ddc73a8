import SystemCalls

/// Whether the kernel updates the loaded crash image itself on CPU and memory hotplug
/// (`/sys/devices/system/{cpu,memory}/crash_hotplug`, CONFIG_CRASH_HOTPLUG). Where it does not, a hotplug
/// event must trigger a re-load.
public struct CrashHotplug: Equatable, Sendable {
    /// `cpu/crash_hotplug` reads 1.
    public var cpu: Bool
    /// `memory/crash_hotplug` reads 1.
    public var memory: Bool

    public init(cpu: Bool, memory: Bool) {
        self.cpu = cpu
        self.memory = memory
    }

    /// Reads both files under `root`; an absent file (older kernel) reads as false.
    public static func read(root: HostRoot) throws -> CrashHotplug {
        CrashHotplug(
            cpu: try KernelFile.flag("/sys/devices/system/cpu/crash_hotplug", root: root) ?? false,
            memory: try KernelFile.flag("/sys/devices/system/memory/crash_hotplug", root: root) ?? false)
    }

    /// Whether a CPU hotplug event needs a re-load by oopsd.
    public var cpuEventNeedsReload: Bool { !cpu }
    /// Whether a memory hotplug event needs a re-load by oopsd.
    public var memoryEventNeedsReload: Bool { !memory }
}
