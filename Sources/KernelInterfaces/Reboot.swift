import CShim
import SystemCalls

/// What the machine does when the capture is over (reboot(2) commands).
public enum RebootAction: String, Equatable, Sendable {
    /// `RB_AUTOBOOT`: restart the machine.
    case reboot
    /// `RB_POWER_OFF`: power the machine off.
    case powerOff = "poweroff"
    /// `RB_HALT_SYSTEM`: halt without powering off.
    case halt

    /// The reboot(2) command number.
    public var command: Int32 {
        switch self {
        case .reboot: Int32(truncatingIfNeeded: OOPS_RB_AUTOBOOT)
        case .powerOff: Int32(truncatingIfNeeded: OOPS_RB_POWER_OFF)
        case .halt: Int32(truncatingIfNeeded: OOPS_RB_HALT_SYSTEM)
        }
    }

    /// Calls reboot(2); returns only on failure, by throwing. The caller syncs file systems first.
    public func perform() throws -> Never {
        _ = try valueOrErrno("reboot(\(rawValue))") { oops_reboot(command) }
        fatalError("reboot(2) returned success")
    }
}
