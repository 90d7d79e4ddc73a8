import SystemCalls

/// The service's record read together with the kernel's `kexec_crash_loaded`, and the sentence that says why the
/// machine is armed or not: what `oopsctl status` shows.
public struct LiveStatus: Equatable, Sendable {
    /// What the service last wrote; nil when it has not run since boot.
    public var recorded: ServiceStatus?
    /// Whether a capture kernel is loaded (`/sys/kernel/kexec_crash_loaded`).
    public var loaded: Bool

    public init(recorded: ServiceStatus?, loaded: Bool) {
        self.recorded = recorded
        self.loaded = loaded
    }

    /// Reads the record, the kernel's flag and the record again, until both records agree (at most `attempts`
    /// rounds), so the flag was read while the record said what it says. The service writes "arming" before the
    /// kernel can unload the old capture kernel and clears it only after the new one is loaded, so a flag read
    /// between two equal records that say "armed" and nothing else means the kernel was unloaded by someone else.
    public static func read(attempts: Int = 5, record: () -> ServiceStatus?, loaded: () -> Bool) -> LiveStatus {
        var before = record()
        var isLoaded = loaded()
        var after = record()
        var round = 1
        while before != after && round < attempts {
            before = after
            isLoaded = loaded()
            after = record()
            round += 1
        }
        return LiveStatus(recorded: after, loaded: isLoaded)
    }

    /// One sentence: armed or not, and why. `reserved`: whether `crashkernel=` memory is reserved (nil: unknown);
    /// `isRunning`: whether the process that wrote the record still exists.
    public func message(reserved: Bool?, isRunning: (Int32) -> Bool = ProcessLiveness.isRunning) -> String {
        let arming = recorded?.arming
        let writerRunning = recorded?.pid.map(isRunning) ?? false
        let verb = recorded?.armed == true ? "re-arming" : "arming"
        if loaded {
            if let arming, writerRunning { return "armed; oopsd is \(verb) (\(arming))" }
            return recorded?.message ?? "the service has not run since boot"
        }
        if reserved == false {
            return "not armed: no memory is reserved for a capture kernel (add crashkernel= to the kernel command line)"
        }
        guard let recorded else {
            return "not armed: oopsd has not run since boot (systemctl start oopsd, or oopsctl arm)"
        }
        if let arming {
            guard writerRunning else {
                let who = recorded.pid.map { "oopsd (pid \($0))" } ?? "oopsd"
                return "not armed: \(who) ended while \(verb) (\(arming)); start it again (systemctl restart oopsd)"
            }
            return recorded.armed
                ? "not armed for a moment: oopsd is re-arming (\(arming)) and loads the new capture kernel"
                : "not armed yet: oopsd is arming (\(arming))"
        }
        if recorded.armed { return "not armed: the capture kernel was unloaded outside oopsd" }
        return recorded.message
    }
}
