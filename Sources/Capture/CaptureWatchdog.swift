import CShim
import DumpFormat
import KernelInterfaces

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The reboot(2) command the watchdog performs; set before arming it (a signal handler cannot capture).
// Sound because it is written once, before alarm(2) arms the handler, and the handler only reads it.
nonisolated(unsafe) private var watchdogCommand: Int32 = 0

/// Ends a stuck capture: after `seconds`, SIGALRM syncs and performs the failure action, whatever the
/// capture is doing. A capture kernel must never hang.
public enum CaptureWatchdog {
    /// Arms the watchdog for `seconds` with `action` as the way out.
    public static func arm(seconds: Int, action: FinalAction) {
        // A stuck capture has loaded no return kernel: reboot(LINUX_REBOOT_CMD_KEXEC) would fail, so kexec
        // becomes a firmware reboot here.
        // Sound because the handler only reads the global set here, and the StaticString is a constant.
        unsafe watchdogCommand = (action == .kexec ? FinalAction.reboot : action).command
        signal(SIGALRM) { _ in
            // Only async-signal-safe calls here: write, sync, reboot.
            let message: StaticString = "oopsd-capture: timed out, taking the failure action\n"
            _ = unsafe write(2, message.utf8Start, message.utf8CodeUnitCount)
            sync()
            _ = unsafe oops_reboot(watchdogCommand)
            _exit(1)
        }
        alarm(UInt32(clamping: max(1, seconds)))  // Timeout= can be longer than alarm(2) counts
    }

    /// Disarms it (before the final action).
    public static func disarm() { alarm(0) }
}
