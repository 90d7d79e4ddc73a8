import CShim
import DumpFormat
import SystemCalls

/// The capture's final and failure actions as reboot(2) commands.
extension FinalAction {
    /// The reboot(2) command number.
    public var command: Int32 {
        switch self {
        case .reboot: Int32(truncatingIfNeeded: OOPS_RB_AUTOBOOT)
        case .powerOff: Int32(truncatingIfNeeded: OOPS_RB_POWER_OFF)
        case .halt: Int32(truncatingIfNeeded: OOPS_RB_HALT_SYSTEM)
        case .kexec: Int32(truncatingIfNeeded: OOPS_RB_KEXEC)
        }
    }

    /// Calls reboot(2); returns only on failure, by throwing. The caller syncs file systems first.
    public func perform() throws -> Never {
        _ = try valueOrErrno("reboot(\(rawValue))") { oops_reboot(command) }
        fatalError("reboot(2) returned success")
    }
}
