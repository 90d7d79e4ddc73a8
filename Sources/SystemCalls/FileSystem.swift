import CShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What stat(2) says about a file.
public struct FileStatus: Equatable, Sendable {
    /// The kind of file, from the `S_IFMT` bits.
    public enum Kind: Equatable, Sendable { case regular, directory, symlink, blockDevice, characterDevice, other }

    public var kind: Kind
    public var size: UInt64
    /// Permission bits (`mode & 0o7777`).
    public var permissions: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var inode: UInt64
    public var device: UInt64
    /// For device files, the device number it stands for.
    public var rdev: UInt64
    public var modificationSeconds: Int64
    public var modificationNanoseconds: Int64
    /// The inode's last status change (`st_ctim`): moves on every write, rename into place or chmod, and
    /// cannot be set back from user space, unlike the modification time.
    public var changeSeconds: Int64
    public var changeNanoseconds: Int64
    /// Bytes actually allocated on disk (st_blocks * 512): smaller than `size` for sparse files.
    public var allocatedBytes: UInt64

    init(_ raw: oops_stat_t) {
        switch raw.mode & UInt32(OOPS_S_IFMT) {
        case UInt32(OOPS_S_IFREG): kind = .regular
        case UInt32(OOPS_S_IFDIR): kind = .directory
        case UInt32(OOPS_S_IFLNK): kind = .symlink
        case UInt32(OOPS_S_IFBLK): kind = .blockDevice
        case UInt32(OOPS_S_IFCHR): kind = .characterDevice
        default: kind = .other
        }
        size = raw.size
        permissions = raw.mode & 0o7777
        uid = raw.uid
        gid = raw.gid
        inode = raw.inode
        device = raw.device
        rdev = raw.rdev
        modificationSeconds = raw.mtime_sec
        modificationNanoseconds = raw.mtime_nsec
        changeSeconds = raw.ctime_sec
        changeNanoseconds = raw.ctime_nsec
        allocatedBytes = raw.blocks &* 512
    }
}

/// File-system operations on paths, each turning failure into a `SystemError` naming the path.
public enum FileSystem {
    /// stat(2) (`followLinks`) or lstat(2); nil when the path does not exist.
    public static func status(_ path: String, followLinks: Bool = true) throws -> FileStatus? {
        var raw = oops_stat_t()
        // Sound because `path` is bridged for the call; stat fills the local `raw`.
        if unsafe oops_stat(path, followLinks ? 1 : 0, &raw) == 0 { return FileStatus(raw) }
        let error = oops_errno()
        if error == ENOENT || error == ENOTDIR { return nil }
        throw SystemError(followLinks ? "stat" : "lstat", path: path, errno: error)
    }

    /// Whether anything exists at `path` (a dangling symlink counts).
    public static func exists(_ path: String) -> Bool {
        (try? status(path, followLinks: false)) != nil
    }

    /// The whole content of a file.
    public static func readBytes(_ path: String, limit: Int = Int.max) throws -> [UInt8] {
        let fd = try FileDescriptor.open(path)
        defer { try? fd.close() }
        return try fd.readToEnd(limit: limit)
    }

    /// Starts reading `path` into the page cache in the background (`FileDescriptor.adviseWillNeed`).
    public static func prefetch(_ path: String) throws {
        let fd = try FileDescriptor.open(path)
        defer { try? fd.close() }
        try fd.adviseWillNeed()
    }

    /// The whole content of a file as UTF-8 text (invalid sequences become U+FFFD).
    public static func readText(_ path: String) throws -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// The names in a directory, without `.` and `..`, sorted bytewise.
    public static func listDirectory(_ path: String) throws -> [String] {
        // Sound because the DIR is closed by the defer and used only in between.
        guard let dir = unsafe opendir(path) else { throw SystemError("opendir", path: path, errno: oops_errno()) }
        defer { unsafe closedir(dir) }
        return try unsafe readNames(dir, path: path)
    }

    /// The names readdir(3) gives for `dir`, without `.` and `..`, sorted bytewise.
    private static func readNames(_ dir: OpaquePointer, path: String) throws -> [String] {
        var names: [String] = []
        while true {
            oops_clear_errno()
            // Sound because the entry stays valid until the next readdir; its name is copied up to its NUL first.
            guard let entry = unsafe readdir(dir) else {
                let error = oops_errno()
                if error != 0 { throw SystemError("readdir", path: path, errno: error) }
                break
            }
            // Only up to the name's NUL: glibc allocates an entry for its own name, not for all 256 bytes of
            // d_name, so copying `entry.pointee` would read past it.
            let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
            let name = unsafe String(
                cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The whole content of `path` if it is a regular file (`FileDescriptor.openRegularFile`: no symlink, no FIFO,
    /// no device), at most `limit` bytes. For files from dump directories.
    public static func readRegularFile(
        _ path: String, limit: Int = Int.max, followingLinks: Bool = false
    ) throws
        -> [UInt8]
    {
        let fd = try FileDescriptor.openRegularFile(path, followingLinks: followingLinks)
        defer { try? fd.close() }
        return try fd.readToEnd(limit: limit)
    }

    /// The target of a symbolic link.
    public static func readLink(_ path: String) throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = try valueOrErrno("readlink", path: path) {
            // Sound because readlink writes at most the 4096 bytes of the borrowed buffer and says how many.
            unsafe buffer.withUnsafeMutableBufferPointer { unsafe readlink(path, $0.baseAddress!, $0.count) }
        }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Creates a directory; with `parents`, the missing ancestors too (like `mkdir -p`).
    public static func makeDirectory(_ path: String, mode: UInt32 = 0o755, parents: Bool = false) throws {
        if parents {
            if let existing = try status(path), existing.kind == .directory { return }
            let parent = Path.parent(path)
            if parent != path && !parent.isEmpty { try makeDirectory(parent, mode: mode, parents: true) }
        }
        // Sound because `path` is bridged to a C string that lives for the call.
        if unsafe mkdir(path, mode_t(mode)) == -1 {
            let error = oops_errno()
            if parents && error == EEXIST { return }
            throw SystemError("mkdir", path: path, errno: error)
        }
    }

    /// Renames `from` to `to` (atomic within one file system).
    public static func rename(_ from: String, to: String) throws {
        // Sound because both paths are bridged to C strings that live for the call.
        _ = try valueOrErrno("rename", path: "\(from) -> \(to)") { unsafe Glibc.rename(from, to) }
    }

    /// Removes a file or an empty directory.
    public static func remove(_ path: String) throws {
        guard let st = try status(path, followLinks: false) else { return }
        if st.kind == .directory {
            // Sound because the paths are bridged to C strings that live for each call.
            _ = try valueOrErrno("rmdir", path: path) { unsafe rmdir(path) }
        } else {
            _ = try valueOrErrno("unlink", path: path) { unsafe unlink(path) }
        }
    }

    /// Removes a directory tree without following symlinks: the tree is walked through directory descriptors
    /// (`openat` with `O_NOFOLLOW | O_DIRECTORY`, `unlinkat`), so a directory swapped for a link while the walk runs
    /// loses the link, never what it points to. A symlink at `path` itself is removed, not followed.
    public static func removeTree(_ path: String) throws {
        guard let st = try status(path, followLinks: false) else { return }
        guard st.kind == .directory else { return try remove(path) }
        // Sound because `path` is bridged to a C string that lives for the call.
        let fd = unsafe oops_open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
        if fd < 0 {
            let error = oops_errno()
            // Replaced by a link or a file since the lstat: remove that instead.
            if error == ELOOP || error == ENOTDIR { return try remove(path) }
            throw SystemError("open", path: path, errno: error)
        }
        do {
            try removeContents(of: fd, path: path, depth: 0)
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        // Sound because `path` is bridged to a C string that lives for the call.
        _ = try valueOrErrno("rmdir", path: path) { unsafe rmdir(path) }
    }

    /// How deep `removeTree` goes (a dump directory is one level deep; a deeper tree is not ours to delete).
    public static let removeTreeDepthLimit = 32

    /// Removes everything in the directory open as `fd` (named `path` in errors).
    private static func removeContents(of fd: Int32, path: String, depth: Int) throws {
        guard depth < removeTreeDepthLimit else { throw SystemError("removeTree", path: path, errno: ELOOP) }
        for name in try listDirectory(descriptor: fd, path: path) {
            let child = path + "/" + name
            // Sound because `name` is bridged for each call; `fd` is the open directory this function was given.
            if unsafe unlinkat(fd, name, 0) == 0 { continue }
            let error = oops_errno()
            if error == ENOENT { continue }
            // Linux says EISDIR for unlink(2) of a directory.
            guard error == EISDIR || error == EPERM else { throw SystemError("unlinkat", path: child, errno: error) }
            let sub = unsafe oops_openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
            if sub < 0 {
                let openError = oops_errno()
                if openError == ENOENT { continue }
                // Swapped for a link or file between the two calls: unlink that.
                if openError == ELOOP || openError == ENOTDIR {
                    _ = try valueOrErrno("unlinkat", path: child) { unsafe unlinkat(fd, name, 0) }
                    continue
                }
                throw SystemError("openat", path: child, errno: openError)
            }
            do {
                try removeContents(of: sub, path: child, depth: depth + 1)
            } catch {
                close(sub)
                throw error
            }
            close(sub)
            _ = try valueOrErrno("unlinkat", path: child) { unsafe unlinkat(fd, name, AT_REMOVEDIR) }
        }
    }

    /// The names in the directory open as `fd`, without `.` and `..` (read through a duplicate, so `fd` stays open).
    private static func listDirectory(descriptor fd: Int32, path: String) throws -> [String] {
        let copy = dup(fd)
        guard copy >= 0 else { throw SystemError("dup", path: path, errno: oops_errno()) }
        // Sound because the DIR owns `copy`, is closed by the defer and used only in between.
        guard let dir = unsafe fdopendir(copy) else {
            let error = oops_errno()
            close(copy)
            throw SystemError("fdopendir", path: path, errno: error)
        }
        defer { unsafe closedir(dir) }
        // A duplicate shares the file position: start from the beginning whatever was read before.
        unsafe rewinddir(dir)
        return try unsafe readNames(dir, path: path)
    }

    /// Writes `bytes` to `path` through a temporary file, fsync and rename, so readers see
    /// the old content or the new, never a part.
    public static func writeAtomically(_ path: String, _ bytes: some Collection<UInt8>, mode: UInt32 = 0o644) throws {
        let temporary = path + ".tmp~"
        let fd = try FileDescriptor.open(temporary, [.writeOnly, .create, .truncate, .noFollow], mode: mode)
        do {
            try fd.writeAll(bytes)
            try fd.sync()
            try fd.close()
        } catch {
            try? fd.close()
            try? remove(temporary)
            throw error
        }
        try rename(temporary, to: path)
    }
}

/// Path string helpers (no Foundation).
public enum Path {
    /// Joins path components with single slashes.
    public static func join(_ base: String, _ component: String) -> String {
        if base.isEmpty { return component }
        if component.isEmpty { return base }
        let trimmedBase = base.hasSuffix("/") ? String(base.dropLast()) : base
        let trimmedComponent = component.hasPrefix("/") ? String(component.dropFirst()) : component
        return trimmedBase + "/" + trimmedComponent
    }

    /// The directory part (`/a/b` for `/a/b/c`; `/` for `/a`; `.` for `a`).
    public static func parent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// The last component (`c` for `/a/b/c`).
    public static func lastComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }
}
