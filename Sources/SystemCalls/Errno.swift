import CShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An errno value with a Swift name, as swift-system's `Errno`: `.permissionDenied` is `EACCES`.
///
/// Its description is what a journal line shows: the C library's sentence, then the symbolic name that people
/// search for, `Permission denied (EACCES)`.
public struct Errno: RawRepresentable, Error, Hashable, CustomStringConvertible, Sendable {
    /// The C value.
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno now: read it right after the call that failed.
    public static var current: Errno { Errno(rawValue: oops_errno()) }

    /// `EPERM`.
    public static let notPermitted = Errno(rawValue: EPERM)
    /// `ENOENT`.
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    /// `ESRCH`.
    public static let noSuchProcess = Errno(rawValue: ESRCH)
    /// `EINTR`.
    public static let interrupted = Errno(rawValue: EINTR)
    /// `EIO`.
    public static let ioError = Errno(rawValue: EIO)
    /// `ENXIO`.
    public static let noSuchAddressOrDevice = Errno(rawValue: ENXIO)
    /// `E2BIG`.
    public static let argListTooLong = Errno(rawValue: E2BIG)
    /// `ENOEXEC`.
    public static let execFormatError = Errno(rawValue: ENOEXEC)
    /// `EBADF`.
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    /// `ECHILD`.
    public static let noChildProcess = Errno(rawValue: ECHILD)
    /// `EAGAIN` (also `EWOULDBLOCK` on Linux).
    public static let resourceTemporarilyUnavailable = Errno(rawValue: EAGAIN)
    /// `ENOMEM`.
    public static let noMemory = Errno(rawValue: ENOMEM)
    /// `EACCES`.
    public static let permissionDenied = Errno(rawValue: EACCES)
    /// `EFAULT`.
    public static let badAddress = Errno(rawValue: EFAULT)
    /// `EBUSY`.
    public static let resourceBusy = Errno(rawValue: EBUSY)
    /// `EEXIST`.
    public static let fileExists = Errno(rawValue: EEXIST)
    /// `EXDEV`.
    public static let improperLink = Errno(rawValue: EXDEV)
    /// `ENODEV`.
    public static let operationNotSupportedByDevice = Errno(rawValue: ENODEV)
    /// `ENOTDIR`.
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    /// `EISDIR`.
    public static let isDirectory = Errno(rawValue: EISDIR)
    /// `EINVAL`.
    public static let invalidArgument = Errno(rawValue: EINVAL)
    /// `ENFILE`.
    public static let tooManyOpenFilesInSystem = Errno(rawValue: ENFILE)
    /// `EMFILE`.
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    /// `EFBIG`.
    public static let fileTooLarge = Errno(rawValue: EFBIG)
    /// `ENOSPC`.
    public static let noSpace = Errno(rawValue: ENOSPC)
    /// `ESPIPE`.
    public static let illegalSeek = Errno(rawValue: ESPIPE)
    /// `EROFS`.
    public static let readOnlyFileSystem = Errno(rawValue: EROFS)
    /// `ERANGE`.
    public static let outOfRange = Errno(rawValue: ERANGE)
    /// `ENAMETOOLONG`.
    public static let fileNameTooLong = Errno(rawValue: ENAMETOOLONG)
    /// `ENOLCK`.
    public static let noLocks = Errno(rawValue: ENOLCK)
    /// `ENOSYS`.
    public static let noFunction = Errno(rawValue: ENOSYS)
    /// `ENOTEMPTY`.
    public static let directoryNotEmpty = Errno(rawValue: ENOTEMPTY)
    /// `ELOOP`.
    public static let tooManySymbolicLinkLevels = Errno(rawValue: ELOOP)
    /// `ENODATA`.
    public static let noData = Errno(rawValue: ENODATA)
    /// `EOVERFLOW`.
    public static let overflow = Errno(rawValue: EOVERFLOW)
    /// `EBADMSG`.
    public static let badMessage = Errno(rawValue: EBADMSG)
    /// `EADDRNOTAVAIL`.
    public static let addressNotAvailable = Errno(rawValue: EADDRNOTAVAIL)
    /// `EMSGSIZE`.
    public static let messageTooLong = Errno(rawValue: EMSGSIZE)
    /// `ECONNREFUSED`.
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    /// `ETIMEDOUT`.
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    /// `EDQUOT`.
    public static let diskQuotaExceeded = Errno(rawValue: EDQUOT)
    /// `ENOKEY`: a signature's key is not in the kernel's keyring.
    public static let noKey = Errno(rawValue: ENOKEY)
    /// `EKEYREJECTED`: the kernel refused a signature.
    public static let keyRejected = Errno(rawValue: EKEYREJECTED)
    /// `ENOTSUP` (also `EOPNOTSUPP` on Linux).
    public static let notSupported = Errno(rawValue: ENOTSUP)

    /// The symbolic name (`EACCES`), or `errno N` when it has no known name.
    public var name: String {
        switch self {
        case .notPermitted: "EPERM"
        case .noSuchFileOrDirectory: "ENOENT"
        case .noSuchProcess: "ESRCH"
        case .interrupted: "EINTR"
        case .ioError: "EIO"
        case .noSuchAddressOrDevice: "ENXIO"
        case .argListTooLong: "E2BIG"
        case .execFormatError: "ENOEXEC"
        case .badFileDescriptor: "EBADF"
        case .noChildProcess: "ECHILD"
        case .resourceTemporarilyUnavailable: "EAGAIN"
        case .noMemory: "ENOMEM"
        case .permissionDenied: "EACCES"
        case .badAddress: "EFAULT"
        case .resourceBusy: "EBUSY"
        case .fileExists: "EEXIST"
        case .improperLink: "EXDEV"
        case .operationNotSupportedByDevice: "ENODEV"
        case .notDirectory: "ENOTDIR"
        case .isDirectory: "EISDIR"
        case .invalidArgument: "EINVAL"
        case .tooManyOpenFilesInSystem: "ENFILE"
        case .tooManyOpenFiles: "EMFILE"
        case .fileTooLarge: "EFBIG"
        case .noSpace: "ENOSPC"
        case .illegalSeek: "ESPIPE"
        case .readOnlyFileSystem: "EROFS"
        case .outOfRange: "ERANGE"
        case .fileNameTooLong: "ENAMETOOLONG"
        case .noLocks: "ENOLCK"
        case .noFunction: "ENOSYS"
        case .directoryNotEmpty: "ENOTEMPTY"
        case .tooManySymbolicLinkLevels: "ELOOP"
        case .noData: "ENODATA"
        case .overflow: "EOVERFLOW"
        case .badMessage: "EBADMSG"
        case .addressNotAvailable: "EADDRNOTAVAIL"
        case .messageTooLong: "EMSGSIZE"
        case .connectionRefused: "ECONNREFUSED"
        case .timedOut: "ETIMEDOUT"
        case .diskQuotaExceeded: "EDQUOT"
        case .noKey: "ENOKEY"
        case .keyRejected: "EKEYREJECTED"
        case .notSupported: "ENOTSUP"
        default: "errno \(rawValue)"
        }
    }

    /// The C library's sentence for the value (`Permission denied`).
    // Sound because strerror returns a NUL-terminated static string, copied at once.
    public var message: String { unsafe String(cString: strerror(rawValue)) }

    public var description: String { "\(message) (\(name))" }
}
