/// What the capture kernel does when it is done (`[Capture] FinalAction=` after a complete dump,
/// `FailureAction=` after a failed or timed-out one). `KernelInterfaces` performs it with reboot(2).
public enum FinalAction: String, CaseIterable, Equatable, Sendable {
    /// Restart the machine (`RB_AUTOBOOT`).
    case reboot
    /// Power the machine off (`RB_POWER_OFF`).
    case powerOff = "poweroff"
    /// Halt without powering off (`RB_HALT_SYSTEM`).
    case halt
    /// Load the production kernel frozen in the capture plan and jump into it without the firmware
    /// (`LINUX_REBOOT_CMD_KEXEC`); when that cannot be done, `reboot`.
    case kexec
}
