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
    /// What the call returned.
    public var errno: Errno

    public init(_ operation: String, path: String? = nil, errno: Errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The same, from the C value (`oops_errno()` right after the call, or a constant such as `EFBIG`).
    public init(_ operation: String, path: String? = nil, errno: Int32) {
        self.init(operation, path: path, errno: Errno(rawValue: errno))
    }

    /// The error the calling thread's errno describes now: call it right after the call that failed.
    public static func last(_ operation: String, path: String? = nil) -> SystemError {
        SystemError(operation, path: path, errno: .current)
    }

    /// The `SystemError` a function of this module threw, for a `catch` that must name one: they throw nothing else
    /// (the `*RegularFile` readers also throw `FileKindError`; catch it before). Anything else keeps its text as the
    /// operation, with errno 0.
    public init(caught error: any Error) {
        if let error = error as? SystemError {
            self = error
        } else {
            self.init("\(error)", errno: 0)
        }
    }

    /// The symbolic name of the errno (`EACCES`), or the number when it has no known name.
    public var errnoName: String { errno.name }

    /// The C library's message for the errno (`Permission denied`).
    public var message: String { errno.message }

    public var description: String {
        let subject = path.map { "\(operation) \($0)" } ?? operation
        return "\(subject): \(errno)"
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
