import SystemCalls

/// systemd's watchdog as a part of the service: fed from a thread of its own (`WatchdogFeeder`) so that arming (an
/// initramfs build) or a long report does not get the service killed. Started first and stopped last; without
/// `WatchdogSec=` it does nothing.
final class WatchdogService: ServicePart {
    let name = "watchdog"
    private var feeder: WatchdogFeeder?

    func start() throws {
        guard let interval = ServiceNotifier.watchdogInterval else { return }
        feeder = try WatchdogFeeder(every: Double(interval.microseconds) / 2_000_000) { ServiceNotifier.watchdog() }
    }

    func stop(waitingUpTo seconds: Double) -> Bool {
        feeder?.stop()
        feeder = nil
        return true
    }
}
