#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension FileSystem {
    /// The absolute path with every symbolic link, `.` and `..` resolved (realpath(3)); nil when it does not resolve.
    public static func realPath(_ path: String) -> String? {
        // Sound because realpath mallocs the result, copied into a String before the deferred free.
        guard let resolved = unsafe realpath(path, nil) else { return nil }
        defer { unsafe free(resolved) }
        return unsafe String(cString: resolved)
    }

    /// Creates a new directory named `prefix` plus six random characters, mode 0700 (mkdtemp(3)); returns its path.
    /// Nothing else can have made it: a scratch directory the caller alone may remove.
    public static func makeUniqueDirectory(prefix: String) throws -> String {
        var template = Array((prefix + "XXXXXX").utf8CString)
        // Sound because `template` is NUL-terminated (utf8CString); mkdtemp rewrites its last six characters in place.
        let made = unsafe template.withUnsafeMutableBufferPointer {
            unsafe mkdtemp($0.baseAddress!).map { unsafe String(cString: $0) }
        }
        guard let made else { throw SystemError.last("mkdtemp", path: prefix + "XXXXXX") }
        return made
    }
}
