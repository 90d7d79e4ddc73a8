import CShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: which call, on which file, and the errno it returned.
///
/// The description reads as a sentence for a journal line:
/// `open /etc/oopsd/oopsd.conf: Permission denied (EACCES)`.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The call that failed, e.g. `open` or `kexec_file_load`.
    public var operation: String
    /// The file the call worked on, if any.
    public var path: String?
    /// The errno value.
    public var errno: Int32

    public init(_ operation: String, path: String? = nil, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The symbolic name of the errno (`EACCES`), or the number when it has no known name.
    public var errnoName: String { Errno.name(errno) }

    /// The C library's message for the errno (`Permission denied`).
    public var message: String { String(cString: strerror(errno)) }

    public var description: String {
        let subject = path.map { "\(operation) \($0)" } ?? operation
        return "\(subject): \(message) (\(errnoName))"
    }
}

/// Names of errno values, for error messages that people can search for.
public enum Errno {
    /// The symbolic name of `value`, or its number as text.
    public static func name(_ value: Int32) -> String {
        switch value {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case ENXIO: "ENXIO"
        case E2BIG: "E2BIG"
        case ENOEXEC: "ENOEXEC"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case EXDEV: "EXDEV"
        case ENODEV: "ENODEV"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case EFBIG: "EFBIG"
        case ENOSPC: "ENOSPC"
        case ESPIPE: "ESPIPE"
        case EROFS: "EROFS"
        case ERANGE: "ERANGE"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ENOSYS: "ENOSYS"
        case ENOTEMPTY: "ENOTEMPTY"
        case ELOOP: "ELOOP"
        case ENODATA: "ENODATA"
        case EOVERFLOW: "EOVERFLOW"
        case EBADMSG: "EBADMSG"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case EDQUOT: "EDQUOT"
        case ENOKEY: "ENOKEY"
        case EKEYREJECTED: "EKEYREJECTED"
        case ENOTSUP: "ENOTSUP"
        default: "errno \(value)"
        }
    }
}

/// Runs a system call that returns -1 and sets errno on failure, retrying on EINTR.
@inlinable
public func valueOrErrno<T: FixedWidthInteger>(
    _ operation: String, path: String? = nil, _ body: () -> T
) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let error = oops_errno()
        if error == EINTR { continue }
        throw SystemError(operation, path: path, errno: error)
    }
}
