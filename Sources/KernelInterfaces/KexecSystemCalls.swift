import CShim
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `KEXEC_FILE_*` flags of kexec_file_load(2).
public struct KexecFileFlags: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    /// `KEXEC_FILE_UNLOAD`: unload the image instead of loading one.
    public static let unload = KexecFileFlags(rawValue: UInt(OOPS_KEXEC_FILE_UNLOAD))
    /// `KEXEC_FILE_ON_CRASH`: the image goes into the crash reservation and runs on panic.
    public static let onCrash = KexecFileFlags(rawValue: UInt(OOPS_KEXEC_FILE_ON_CRASH))
    /// `KEXEC_FILE_NO_INITRAMFS`: no initramfs descriptor is passed.
    public static let noInitramfs = KexecFileFlags(rawValue: UInt(OOPS_KEXEC_FILE_NO_INITRAMFS))
}

/// The seam for kexec_file_load(2): the real system call, or a substitute in tests.
public protocol KexecSystemCalls: Sendable {
    /// Calls kexec_file_load; descriptors are -1 and the command line nil when unloading.
    /// Throws a `SystemError` named `kexec_file_load` carrying the errno.
    func kexecFileLoad(kernelFD: Int32, initramfsFD: Int32, commandLine: String?, flags: KexecFileFlags) throws
}

/// kexec_file_load(2) through the C shim.
public struct LinuxKexecSystemCalls: KexecSystemCalls {
    public init() {}

    public func kexecFileLoad(kernelFD: Int32, initramfsFD: Int32, commandLine: String?, flags: KexecFileFlags) throws {
        _ = try valueOrErrno("kexec_file_load") {
            if let commandLine {
                return commandLine.withCString { oops_kexec_file_load(kernelFD, initramfsFD, $0, flags.rawValue) }
            }
            return oops_kexec_file_load(kernelFD, initramfsFD, nil, flags.rawValue)
        }
    }
}
