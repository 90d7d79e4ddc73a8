import Synchronization
import SystemCalls

/// Feeds systemd's watchdog (WATCHDOG=1) from a thread of its own, every half interval, so that a long report
/// build or a slow re-arm in the main loop does not get the service killed; stops when the service stops.
final class WatchdogFeeder: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let pings = Atomic<Int>(0)

    /// Starts feeding every `seconds` with `ping` (ServiceNotifier.watchdog in the service).
    init(every seconds: Double, ping: @escaping @Sendable () -> Void) throws(SystemError) {
        try DetachedThread.start { [self] in
            while !stopped.load(ordering: .relaxed) {
                ping()
                pings.add(1, ordering: .relaxed)
                // In slices of at most 0.1 s, so that stop() takes effect at once.
                var slept = 0.0
                while slept < seconds && !stopped.load(ordering: .relaxed) {
                    DetachedThread.sleep(seconds: min(0.1, seconds - slept))
                    slept += 0.1
                }
            }
        }
    }

    /// How many times it has fed the watchdog.
    var count: Int { pings.load(ordering: .relaxed) }

    /// Stops feeding (the thread ends within 0.1 s; no ping follows this call's return by more than that).
    func stop() { stopped.store(true, ordering: .relaxed) }
}
