import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Disk space set aside in a dump directory before the memory is written and given back when the writing stops,
/// so that a target that fills up still has room for the files that say what happened (`metadata.json`,
/// `capture.log`).
public struct SpaceReserve: Sendable {
    /// The name of the file holding the space.
    public static let fileName = ".space-reserve"
    /// Enough for metadata.json, capture.log and their atomic replacement, with room to spare.
    public static let defaultBytes = 1 << 20

    /// The reserve file, nil when no space could be set aside.
    public let path: String?
    /// Bytes set aside (0 when none).
    public let bytes: Int
    /// Why nothing was set aside, for the log.
    public let problem: String?

    /// Allocates `bytes` (`posix_fallocate`) in a `0600` file in `directory`. Never throws: a target too full even
    /// for this gives a reserve of 0 bytes and a `problem`.
    public static func claim(in directory: String, bytes: Int = defaultBytes) -> SpaceReserve {
        let path = Path.join(directory, fileName)
        do {
            let fd = try FileDescriptor.open(path, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o600)
            defer { try? fd.close() }
            let status = posix_fallocate(fd.rawValue, 0, off_t(bytes))
            if status != 0 {
                // Sound because `path` is bridged to a C string that lives for the call.
                unsafe unlink(path)
                let error = SystemError("posix_fallocate \(bytes) bytes", path: path, errno: status)
                return SpaceReserve(path: nil, bytes: 0, problem: error.description)
            }
            return SpaceReserve(path: path, bytes: bytes, problem: nil)
        } catch {
            return SpaceReserve(path: nil, bytes: 0, problem: "\(error)")
        }
    }

    /// Deletes the reserve file, giving its space back to the file system.
    public func release() {
        // Sound because `path` is bridged to a C string that lives for the call.
        if let path { unsafe unlink(path) }
    }
}
