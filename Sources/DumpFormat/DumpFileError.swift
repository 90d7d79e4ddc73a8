import SystemCalls

/// A file of a dump that cannot be read or used: the path and why.
public enum DumpFileError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file exists but cannot be read: the call that failed, or what it is instead of a regular file.
    case unreadable(path: String, cause: FileReadError)
    /// The file's content is not what its schema says.
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let cause): "cannot read \(path): \(cause)"
        case .malformed(let path, let reason): "\(path): \(reason)"
        }
    }
}
