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

/// One segment of kexec_load(2): `buffer` is copied to physical `address`, and the rest of `memorySize` is zeroed.
/// Unsafe: `buffer` is borrowed, valid only while its owner keeps it alive (until the kexec_load call returns).
@unsafe public struct KexecSegment {
    public var buffer: UnsafeRawBufferPointer
    public var address: UInt64
    public var memorySize: UInt64

    public init(buffer: UnsafeRawBufferPointer, address: UInt64, memorySize: UInt64) {
        unsafe self.buffer = unsafe buffer
        unsafe self.address = address
        unsafe self.memorySize = memorySize
    }
}

/// The seam for kexec_file_load(2) and kexec_load(2): the real system calls, or substitutes in tests.
public protocol KexecSystemCalls: Sendable {
    /// Calls kexec_file_load; descriptors are -1 and the command line nil when unloading.
    /// Throws a `SystemError` named `kexec_file_load` carrying the errno.
    func kexecFileLoad(kernelFD: Int32, initramfsFD: Int32, commandLine: String?, flags: KexecFileFlags) throws

    /// Calls kexec_load for an x86-64 image (`KEXEC_ARCH_X86_64`, to run on reboot(LINUX_REBOOT_CMD_KEXEC)).
    /// Throws a `SystemError` named `kexec_load` carrying the errno.
    func kexecLoad(entry: UInt64, segments: [KexecSegment]) throws
}

extension KexecSystemCalls {
    /// Substitutes that only load capture kernels need not implement kexec_load: it fails with ENOSYS.
    public func kexecLoad(entry: UInt64, segments: [KexecSegment]) throws {
        throw SystemError("kexec_load", errno: ENOSYS)
    }
}

/// kexec_file_load(2) through the C shim.
public struct LinuxKexecSystemCalls: KexecSystemCalls {
    public init() {}

    public func kexecFileLoad(kernelFD: Int32, initramfsFD: Int32, commandLine: String?, flags: KexecFileFlags) throws {
        _ = try valueOrErrno("kexec_file_load") {
            if let commandLine {
                // Sound because the C string lives for the call.
                return unsafe commandLine.withCString {
                    unsafe oops_kexec_file_load(kernelFD, initramfsFD, $0, flags.rawValue)
                }
            }
            return oops_kexec_file_load(kernelFD, initramfsFD, nil, flags.rawValue)
        }
    }

    public func kexecLoad(entry: UInt64, segments: [KexecSegment]) throws {
        // Sound because the caller keeps every segment's buffer alive until kexec_load returns; the count is checked.
        guard unsafe segments.count <= Int(OOPS_KEXEC_SEGMENT_MAX) else {
            throw SystemError(
                unsafe "kexec_load (\(segments.count) segments, at most \(OOPS_KEXEC_SEGMENT_MAX))", errno: EINVAL)
        }
        let raw = unsafe segments.map {
            unsafe oops_kexec_segment_t(
                buf: $0.buffer.baseAddress, bufsz: $0.buffer.count, mem: $0.address, memsz: Int($0.memorySize))
        }
        _ = try valueOrErrno("kexec_load") {
            unsafe raw.withUnsafeBufferPointer {
                unsafe oops_kexec_load(entry, UInt(segments.count), $0.baseAddress, UInt(OOPS_KEXEC_ARCH_X86_64))
            }
        }
    }
}
