import CSystemd
import OopsConfig

/// The systemd notification protocol (`man sd_notify`): READY=1, STATUS=, WATCHDOG=1, STOPPING=1.
///
/// Outside systemd (no `$NOTIFY_SOCKET`) every call is a no-op, so the service also runs by hand
/// and in the VM harness's busybox guest.
public enum ServiceNotifier {
    /// Tells systemd the service is up, with a status line for `systemctl status`.
    public static func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    /// Updates the status line.
    public static func status(_ text: String) { send("STATUS=\(text)") }
    /// Keeps the watchdog from killing the service.
    public static func watchdog() { send("WATCHDOG=1") }
    /// Announces a configuration reload.
    public static func reloading() { send("RELOADING=1") }
    /// Announces a clean shutdown.
    public static func stopping(status: String) { send("STOPPING=1\nSTATUS=\(status)") }

    /// The watchdog interval systemd set (`WatchdogSec=`), if any.
    public static var watchdogInterval: TimeSpan? {
        var usec: UInt64 = 0
        // Sound because sd_watchdog_enabled fills the local `usec`.
        return unsafe sd_watchdog_enabled(0, &usec) > 0 ? TimeSpan(microseconds: usec) : nil
    }

    // Sound because `state` is bridged to a C string that lives for the call.
    private static func send(_ state: String) { _ = unsafe sd_notify(0, state) }
}
