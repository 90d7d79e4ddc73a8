import SystemCalls

/// Loads and unloads the capture kernel with kexec_file_load(KEXEC_FILE_ON_CRASH), checking the reservation
/// first and confirming the result in `/sys/kernel/kexec_crash_loaded`.
public struct Kexec: Sendable {
    /// Where `/sys` and `/proc` are read.
    public var root: HostRoot
    /// The system-call seam.
    public var calls: any KexecSystemCalls
    /// The `crashkernel=` value suggested when nothing is reserved.
    public var suggestedCrashKernel: String

    public init(
        root: HostRoot = .system, calls: any KexecSystemCalls = LinuxKexecSystemCalls(),
        suggestedCrashKernel: String = "crashkernel=256M"
    ) {
        self.root = root
        self.calls = calls
        self.suggestedCrashKernel = suggestedCrashKernel
    }

    /// Loads `kernel` with `initramfs` and `commandLine` as the crash kernel. Paths are absolute host paths,
    /// resolved under `root`. Throws `KexecError`.
    public func load(kernel: String, initramfs: String, commandLine: String) throws(KexecError) {
        let reservation: CrashReservation
        do { reservation = try CrashReservation.read(root: root) } catch { throw Self.failure(error) }
        guard reservation.isReserved else { throw .noReservation(suggested: suggestedCrashKernel) }

        let kernelPath = root.path(kernel)
        let initramfsPath = root.path(initramfs)
        let kernelFD: FileDescriptor
        let initramfsFD: FileDescriptor
        do { kernelFD = try FileDescriptor.open(kernelPath) } catch { throw .cannotOpen(SystemError(caught: error)) }
        defer { try? kernelFD.close() }
        do { initramfsFD = try FileDescriptor.open(initramfsPath) } catch {
            throw .cannotOpen(SystemError(caught: error))
        }
        defer { try? initramfsFD.close() }

        do {
            try calls.kexecFileLoad(
                kernelFD: kernelFD.rawValue, initramfsFD: initramfsFD.rawValue, commandLine: commandLine,
                flags: .onCrash)
        } catch {
            let systemError = SystemError(caught: error)
            let initramfsBytes = (try? initramfsFD.status().size) ?? 0
            let needed =
                (try? BzImageHeader.read(path: kernelPath).minimumReservation(initramfsBytes: initramfsBytes))
                ?? initramfsBytes
            throw KexecError.classify(
                systemError, kernel: kernel, reservation: reservation, neededBytes: needed,
                lockdown: (try? LockdownMode.read(root: root)) ?? .none,
                loadDisabled: (try? KernelFile.flag("/proc/sys/kernel/kexec_load_disabled", root: root) ?? false)
                    ?? false,
                capabilities: try? Capabilities.read(root: root))
        }
        try confirm(loaded: true)
    }

    /// Unloads the crash kernel (a no-op for the kernel when none is loaded). Throws `KexecError`.
    public func unload() throws(KexecError) {
        do {
            try calls.kexecFileLoad(kernelFD: -1, initramfsFD: -1, commandLine: nil, flags: [.unload, .onCrash])
        } catch {
            let systemError = SystemError(caught: error)
            throw KexecError.classify(
                systemError, kernel: "(unload)", reservation: CrashReservation(size: 0, ranges: [], loaded: true),
                neededBytes: 0, lockdown: .none,
                loadDisabled: (try? KernelFile.flag("/proc/sys/kernel/kexec_load_disabled", root: root) ?? false)
                    ?? false,
                capabilities: try? Capabilities.read(root: root))
        }
        try confirm(loaded: false)
    }

    /// Whether a crash kernel is loaded now.
    public func isLoaded() throws -> Bool { try CrashReservation.isLoaded(root: root) }

    private func confirm(loaded expected: Bool) throws(KexecError) {
        let actual: Bool
        do { actual = try CrashReservation.isLoaded(root: root) } catch { throw Self.failure(error) }
        if actual != expected { throw .notConfirmed(expected: expected) }
    }

    /// `error` from reading the kernel's files: one that cannot be read, or one whose content is not what the
    /// kernel documents.
    private static func failure(_ error: any Error) -> KexecError {
        if let error = error as? KernelFileError { return .kernelFile(error) }
        return .failed(SystemError(caught: error))
    }
}
