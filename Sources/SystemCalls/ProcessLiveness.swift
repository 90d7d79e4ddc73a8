#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether a process still exists, asked of the kernel with `kill(pid, 0)`: no signal is sent.
public enum ProcessLiveness {
    /// True while process `pid` exists, also when it belongs to another user (EPERM); false once it is gone
    /// (ESRCH) and for a pid that cannot name one process (0 or less).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) == 0 { return true }
        return Errno.current != .noSuchProcess
    }
}
