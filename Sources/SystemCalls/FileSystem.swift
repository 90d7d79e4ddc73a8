#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CShim

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
        allocatedBytes = raw.blocks &* 512
    }
}

/// File-system operations on paths, each turning failure into a `SystemError` naming the path.
public enum FileSystem {
    /// stat(2) (`followLinks`) or lstat(2); nil when the path does not exist.
    public static func status(_ path: String, followLinks: Bool = true) throws -> FileStatus? {
        var raw = oops_stat_t()
        if oops_stat(path, followLinks ? 1 : 0, &raw) == 0 { return FileStatus(raw) }
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

    /// The whole content of a file as UTF-8 text (invalid sequences become U+FFFD).
    public static func readText(_ path: String) throws -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// The names in a directory, without `.` and `..`, sorted bytewise.
    public static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path: path, errno: oops_errno()) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            oops_clear_errno()
            guard let entry = readdir(dir) else {
                let error = oops_errno()
                if error != 0 { throw SystemError("readdir", path: path, errno: error) }
                break
            }
            // Only up to the name's NUL: glibc allocates an entry for its own name, not for all 256 bytes of
            // d_name, so copying `entry.pointee` would read past it.
            let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The target of a symbolic link.
    public static func readLink(_ path: String) throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = try valueOrErrno("readlink", path: path) {
            buffer.withUnsafeMutableBufferPointer { readlink(path, $0.baseAddress!, $0.count) }
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
        if mkdir(path, mode_t(mode)) == -1 {
            let error = oops_errno()
            if parents && error == EEXIST { return }
            throw SystemError("mkdir", path: path, errno: error)
        }
    }

    /// Renames `from` to `to` (atomic within one file system).
    public static func rename(_ from: String, to: String) throws {
        _ = try valueOrErrno("rename", path: "\(from) -> \(to)") { Glibc.rename(from, to) }
    }

    /// Removes a file or an empty directory.
    public static func remove(_ path: String) throws {
        guard let st = try status(path, followLinks: false) else { return }
        if st.kind == .directory {
            _ = try valueOrErrno("rmdir", path: path) { rmdir(path) }
        } else {
            _ = try valueOrErrno("unlink", path: path) { unlink(path) }
        }
    }

    /// Removes a directory tree without following symlinks.
    public static func removeTree(_ path: String) throws {
        guard let st = try status(path, followLinks: false) else { return }
        if st.kind == .directory {
            for name in try listDirectory(path) { try removeTree(path + "/" + name) }
        }
        try remove(path)
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
