import SystemCalls

/// Errors of the collection side, each naming the dump or file concerned and what to do.
public enum CollectionError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The dump directory cannot be listed.
    case directoryUnreadable(path: String, reason: String)
    /// No dump matches the ID.
    case unknownID(String, directory: String)
    /// More than one dump starts with the prefix.
    case ambiguousID(String, candidates: [String])
    /// `-N` asks for more dumps than exist.
    case indexOutOfRange(Int, count: Int, directory: String)
    /// A file of a dump cannot be read: the call that failed, or what the file is instead of a regular file.
    case cannotRead(path: String, cause: FileReadError)
    /// A file of a dump is missing or unusable, for the reason given.
    case fileUnreadable(path: String, reason: String)
    /// A file has content we cannot use.
    case malformedFile(path: String, reason: String)
    /// A file to be written exists and replacing it was not asked for.
    case outputExists(path: String)

    public var description: String {
        switch self {
        case .directoryUnreadable(let path, let reason):
            "cannot read the dump directory \(path): \(reason)"
        case .unknownID(let id, let directory):
            "no dump matches '\(id)' in \(directory) (see 'oopsctl list')"
        case .ambiguousID(let id, let candidates):
            "'\(id)' matches \(candidates.count) dumps; give more of the name:\n"
                + candidates.map { "  \($0)" }.joined(separator: "\n")
        case .indexOutOfRange(let index, let count, let directory):
            "there is no dump \(index): \(directory) holds \(count) dump\(count == 1 ? "" : "s")"
        case .cannotRead(let path, let cause):
            "cannot read \(path): \(cause)"
        case .fileUnreadable(let path, let reason):
            "cannot read \(path): \(reason)"
        case .malformedFile(let path, let reason):
            "\(path): \(reason)"
        case .outputExists(let path):
            "\(path) exists; add --force to replace it"
        }
    }
}
