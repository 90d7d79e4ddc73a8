import SystemCalls

/// The memory reserved for the capture kernel by `crashkernel=`, and whether a capture kernel is loaded.
public struct CrashReservation: Equatable, Sendable {
    /// Bytes reserved, from `/sys/kernel/kexec_crash_size` (0: nothing reserved).
    public var size: UInt64
    /// The `Crash kernel` ranges of `/proc/iomem` (addresses read as 0 without CAP_SYS_ADMIN).
    public var ranges: [IOMemRange]
    /// Whether `/sys/kernel/kexec_crash_loaded` reads 1.
    public var loaded: Bool

    public init(size: UInt64, ranges: [IOMemRange], loaded: Bool) {
        self.size = size
        self.ranges = ranges
        self.loaded = loaded
    }

    /// Reads the reservation under `root`. A kernel built without kexec has no `kexec_crash_size`: that
    /// reads as no reservation.
    public static func read(root: HostRoot) throws -> CrashReservation {
        let size = try KernelFile.unsigned("/sys/kernel/kexec_crash_size", root: root) ?? 0
        let loaded = try KernelFile.flag("/sys/kernel/kexec_crash_loaded", root: root) ?? false
        let ranges: [IOMemRange]
        if FileSystem.exists(root.path("/proc/iomem")) {
            ranges = try IOMemMap.read(root: root).crashKernelRanges
        } else {
            ranges = []
        }
        return CrashReservation(size: size, ranges: ranges, loaded: loaded)
    }

    /// Whether a capture kernel has anywhere to go.
    public var isReserved: Bool { size > 0 }

    /// Reads only `/sys/kernel/kexec_crash_loaded` (false when the file is absent).
    public static func isLoaded(root: HostRoot) throws -> Bool {
        try KernelFile.flag("/sys/kernel/kexec_crash_loaded", root: root) ?? false
    }
}
