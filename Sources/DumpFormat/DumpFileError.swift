/// A file of a dump that cannot be read or used: the path and why.
public enum DumpFileError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file exists but cannot be read.
    case unreadable(path: String, reason: String)
    /// The file's content is not what its schema says.
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .malformed(let path, let reason): "\(path): \(reason)"
        }
    }
}
