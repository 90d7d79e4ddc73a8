#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Size and free space of a file system (statvfs(3)).
public struct FileSystemSpace: Equatable, Sendable {
    /// Size of the file system in bytes (`f_blocks * f_frsize`).
    public var total: UInt64
    /// Bytes available to unprivileged users (`f_bavail * f_frsize`), as journald counts free space.
    public var available: UInt64

    public init(total: UInt64, available: UInt64) {
        self.total = total
        self.available = available
    }

    /// `statvfs(path)`.
    public static func of(_ path: String) throws -> FileSystemSpace {
        var info = statvfs()
        // Sound because `path` is bridged for the call; statvfs fills the local `info`.
        guard unsafe statvfs(path, &info) == 0 else { throw SystemError.last("statvfs", path: path) }
        let unit = UInt64(info.f_frsize)
        return FileSystemSpace(total: UInt64(info.f_blocks) * unit, available: UInt64(info.f_bavail) * unit)
    }
}
