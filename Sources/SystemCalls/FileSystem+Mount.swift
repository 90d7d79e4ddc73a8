#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension FileSystem {
    /// Mounts `source` of file system `type` on `target` (mount(2), no flags, no data), e.g. debugfs.
    public static func mount(_ source: String, on target: String, type: String) throws {
        // Sound because the Strings are bridged to C strings that live for the call; no data argument.
        if unsafe Glibc.mount(source, target, type, 0, nil) != 0 {
            throw SystemError.last("mount \(type)", path: target)
        }
    }
}
