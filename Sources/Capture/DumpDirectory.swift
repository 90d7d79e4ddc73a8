import DumpFormat
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A dump being written (names from `DumpLayout`): a `0700` directory under a temporary name (`<final>.incomplete`) that is renamed to its
/// final name only once every file in it is written and synced. Files are created `0600`, never through symlinks.
public struct DumpDirectory: Sendable {
    /// Where the dump ends up when complete.
    public let finalPath: String
    /// Where it is written meanwhile (and stays when incomplete).
    public let temporaryPath: String

    /// Creates the temporary directory for a dump that will be named `finalPath`; refuses to reuse either name.
    public static func create(_ finalPath: String) throws -> DumpDirectory {
        var trimmed = finalPath
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        let temporary = trimmed + DumpLayout.incompleteSuffix
        if FileSystem.exists(trimmed) { throw SystemError("create dump directory", path: trimmed, errno: EEXIST) }
        try FileSystem.makeDirectory(temporary, mode: 0o700)
        return DumpDirectory(finalPath: trimmed, temporaryPath: temporary)
    }

    /// The path of `name` inside the temporary directory.
    public func path(_ name: String) -> String { Path.join(temporaryPath, name) }

    /// Creates `name` (`0600`, `O_EXCL`, `O_NOFOLLOW`) for reading and writing.
    public func createFile(_ name: String) throws -> FileDescriptor {
        try FileDescriptor.open(path(name), [.readWrite, .create, .exclusive, .noFollow], mode: 0o600)
    }

    /// Writes `bytes` as `name` and syncs it.
    public func writeFile(_ name: String, _ bytes: [UInt8]) throws {
        let fd = try createFile(name)
        defer { try? fd.close() }
        try fd.writeAll(bytes)
        try fd.sync()
    }

    /// Removes `name` (a file this capture created, e.g. the memory of an attempt that died); failures are ignored,
    /// as the dump then says it is incomplete anyway.
    public func removeFile(_ name: String) {
        // Sound because the path is bridged to a C string that lives for the call.
        _ = unsafe unlink(path(name))
    }

    /// Replaces `name` with `bytes` atomically (temporary file, sync, rename), `0600`.
    public func replaceFile(_ name: String, _ bytes: [UInt8]) throws {
        try FileSystem.writeAtomically(path(name), bytes, mode: 0o600)
    }

    /// Syncs the temporary directory and its parent, so that the files written so far (dmesg.txt first) and the
    /// directory itself survive whatever happens to the capture after this.
    public func syncNames() throws {
        try DumpDirectory.syncDirectory(temporaryPath)
        try DumpDirectory.syncDirectory(Path.parent(temporaryPath))
    }

    /// Syncs the directory, renames it to `finalPath` and syncs the parent, so the name is durable.
    public func complete() throws {
        try DumpDirectory.syncDirectory(temporaryPath)
        try FileSystem.rename(temporaryPath, to: finalPath)
        try DumpDirectory.syncDirectory(Path.parent(finalPath))
    }

    static func syncDirectory(_ path: String) throws {
        let fd = try FileDescriptor.open(path, [.readOnly, .directory, .noFollow])
        defer { try? fd.close() }
        try fd.sync()
    }
}
