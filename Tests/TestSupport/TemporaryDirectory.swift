import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A fresh directory, `$TMPDIR/oopsd-<purpose>-XXXXXX` (`/tmp` without `TMPDIR`), that a test uses as scratch space
/// or as the `/` of a test tree; removed with everything in it, without following links, when the value goes away.
public final class TemporaryDirectory {
    /// The directory's absolute path.
    public let path: String

    /// The directory as the root of a host tree: `root.path("/etc/oopsd")` is `<path>/etc/oopsd`.
    public var root: HostRoot { HostRoot(path) }

    /// Makes the directory; `purpose` (e.g. `initramfs`) appears in its name, to tell a leftover's origin.
    public init(_ purpose: String = "test") throws {
        var base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        path = try FileSystem.makeUniqueDirectory(prefix: Path.join(base, "oopsd-\(purpose)-"))
    }

    deinit { try? FileSystem.removeTree(path) }

    /// The path of `file` (absolute inside the directory, or relative to it).
    public func path(_ file: String) -> String { Path.join(path, file) }

    /// Writes `bytes` to `file` (absolute inside the directory, or relative to it), creating its parents; returns
    /// the file's full path.
    @discardableResult
    public func write(_ file: String, _ bytes: [UInt8], mode: UInt32 = 0o644) throws -> String {
        let full = path(file)
        try FileSystem.makeDirectory(Path.parent(full), parents: true)
        try FileSystem.writeAtomically(full, bytes, mode: mode)
        return full
    }

    /// Writes `text` as UTF-8 to `file`, as `write(_:_:mode:)` does.
    @discardableResult
    public func write(_ file: String, _ text: String, mode: UInt32 = 0o644) throws -> String {
        try write(file, Array(text.utf8), mode: mode)
    }

    /// Creates the directory `directory` inside, with its parents; returns its full path.
    @discardableResult
    public func makeDirectory(_ directory: String) throws -> String {
        let full = path(directory)
        try FileSystem.makeDirectory(full, parents: true)
        return full
    }

    /// Creates a symbolic link at `file` (inside, parents created) that points to `target` (taken as it is).
    public func link(_ file: String, to target: String) throws {
        let full = path(file)
        try FileSystem.makeDirectory(Path.parent(full), parents: true)
        if symlink(target, full) != 0 { throw SystemError("symlink", path: full, errno: errno) }
    }
}
