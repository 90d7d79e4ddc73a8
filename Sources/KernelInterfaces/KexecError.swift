import SystemCalls

/// Why the capture kernel could not be loaded or unloaded, as a sentence that says what to do next.
public enum KexecError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `/sys/kernel/kexec_crash_size` is 0: the kernel was booted without `crashkernel=`.
    case noReservation(suggested: String)
    /// The image does not fit: `reserved` bytes, at least `needed` bytes to load it.
    case reservationTooSmall(reserved: UInt64, needed: UInt64, error: SystemError)
    /// The kernel refused the image's signature (EKEYREJECTED, ENOKEY, EBADMSG, ...).
    case signatureRejected(kernel: String, lockdown: LockdownMode, error: SystemError)
    /// EPERM while the kernel is locked down: the image is not signed by a trusted key.
    case lockdownRefused(kernel: String, lockdown: LockdownMode)
    /// EPERM because `/proc/sys/kernel/kexec_load_disabled` is 1.
    case loadDisabled
    /// EPERM without CAP_SYS_BOOT.
    case missingCapability
    /// EPERM for another reason (an LSM or IMA policy).
    case refused(kernel: String, error: SystemError)
    /// EBUSY: another kexec load or unload is in progress.
    case busy
    /// ENOEXEC: the file is not a kernel image this kernel can load.
    case notAKernel(kernel: String)
    /// A file to load could not be opened.
    case cannotOpen(SystemError)
    /// No `[Kernel] Image=` and no image of the release in any place `looked` names.
    case noImage(release: String, looked: [String])
    /// The load returned success but `/sys/kernel/kexec_crash_loaded` does not read `expected`.
    case notConfirmed(expected: Bool)
    /// Any other failure of the system call.
    case failed(SystemError)
    /// A kernel file (`/sys/kernel/kexec_crash_size`, `/proc/iomem` ...) holds what the kernel does not document.
    case kernelFile(KernelFileError)

    public var description: String {
        switch self {
        case .noReservation(let suggested):
            return "no memory is reserved for a capture kernel (/sys/kernel/kexec_crash_size is 0): add "
                + "\(suggested) to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot"
        case .reservationTooSmall(let reserved, let needed, let error):
            return "the capture kernel and initramfs do not fit in the crash reservation (\(error.errnoName)): "
                + "\(Self.mebibytes(reserved)) reserved, at least \(Self.mebibytes(needed)) needed to load them; "
                + "raise crashkernel= in GRUB_CMDLINE_LINUX (see oopsctl estimate) or shrink the initramfs "
                + "(fewer [Kernel] ExtraModules=)"
        case .signatureRejected(let kernel, let lockdown, let error):
            return "the kernel refused the signature of \(kernel) (\(error.errnoName): \(error.message), "
                + "lockdown: \(lockdown.rawValue)): use a kernel image signed by a key in the kernel's "
                + "keyring (the distribution's signed kernel, or enroll your key with mokutil --import)"
        case .lockdownRefused(let kernel, let lockdown):
            return "the kernel is locked down (\(lockdown.rawValue)) and \(kernel) is not signed by a key it "
                + "trusts (EPERM): use the distribution's signed kernel image, or sign it and enroll the key "
                + "with mokutil --import"
        case .loadDisabled:
            return "kexec is disabled until the next boot (/proc/sys/kernel/kexec_load_disabled is 1, EPERM): "
                + "find what sets kernel.kexec_load_disabled (sysctl.d) and remove it, then reboot"
        case .missingCapability:
            return "loading a capture kernel needs CAP_SYS_BOOT (EPERM): run as root, or add CAP_SYS_BOOT to "
                + "the service's CapabilityBoundingSet= and AmbientCapabilities="
        case .refused(let kernel, let error):
            return "the kernel refused to load \(kernel) (\(error.errnoName)) though CAP_SYS_BOOT is held and "
                + "lockdown is off: check IMA appraisal policy and LSM logs in the kernel log (dmesg)"
        case .busy:
            return "another kexec load or unload is in progress (EBUSY): try again once it has finished"
        case .notAKernel(let kernel):
            return "\(kernel) is not a kernel image the running kernel can load (ENOEXEC): "
                + "[Kernel] Image= must name a bzImage (e.g. /boot/vmlinuz-<release>)"
        case .cannotOpen(let error):
            return "cannot open a file to load: \(error)"
        case .noImage(let release, let looked):
            return "no kernel image of \(release) in \(looked.joined(separator: " or ")): install the kernel's "
                + "image package, or name the image with [Kernel] Image="
        case .notConfirmed(let expected):
            return "kexec_file_load succeeded but /sys/kernel/kexec_crash_loaded does not read "
                + "\(expected ? 1 : 0)"
        case .failed(let error):
            return "\(error)"
        case .kernelFile(let error):
            return "cannot tell the state of the crash reservation: \(error)"
        }
    }

    static func mebibytes(_ bytes: UInt64) -> String {
        let whole = bytes / (1 << 20)
        let tenth = (bytes % (1 << 20)) * 10 / (1 << 20)
        return "\(whole).\(tenth) MiB"
    }

    /// Classifies a failed kexec_file_load (`error.errno`) using what the kernel reports about itself.
    public static func classify(
        _ error: SystemError, kernel: String, reservation: CrashReservation, neededBytes: UInt64,
        lockdown: LockdownMode, loadDisabled: Bool, capabilities: Capabilities?
    ) -> KexecError {
        switch error.errno {
        case .notPermitted:
            if let capabilities, !capabilities.has(Capabilities.sysBoot) { return .missingCapability }
            if loadDisabled { return .loadDisabled }
            if lockdown != .none { return .lockdownRefused(kernel: kernel, lockdown: lockdown) }
            return .refused(kernel: kernel, error: error)
        case .keyRejected, .noKey, .badMessage, .noData, .messageTooLong:
            return .signatureRejected(kernel: kernel, lockdown: lockdown, error: error)
        case .resourceBusy:
            return .busy
        case .execFormatError:
            return .notAKernel(kernel: kernel)
        case .noMemory, .addressNotAvailable:
            return .reservationTooSmall(reserved: reservation.size, needed: neededBytes, error: error)
        default:
            return .failed(error)
        }
    }
}
