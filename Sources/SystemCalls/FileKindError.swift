/// A file that is not what its name promises: a dump's `vmcore` that is a FIFO, a `dmesg.txt` that is a symlink.
///
/// Reading such a file could block forever (a FIFO, a device) or show what a link points to (a root-only file), so
/// files from dump directories are opened without following links and read only when they are regular files.
public struct FileKindError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file.
    public var path: String
    /// What it is instead.
    public var kind: FileStatus.Kind

    public init(path: String, kind: FileStatus.Kind) {
        self.path = path
        self.kind = kind
    }

    public var description: String {
        let what: String
        switch kind {
        case .symlink: what = "a symbolic link (not followed)"
        case .directory: what = "a directory"
        case .blockDevice: what = "a block device"
        case .characterDevice: what = "a character device"
        case .regular: what = "a regular file"
        case .other: what = "a FIFO or socket"
        }
        return "\(path) is \(what), not a regular file; not read"
    }
}
