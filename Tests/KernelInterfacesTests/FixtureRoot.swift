#if canImport(Glibc)
import Glibc
#endif
import SystemCalls

/// A temporary directory standing for `/`, filled with the files a test needs.
final class FixtureRoot {
    let path: String
    var root: HostRoot { HostRoot(path) }

    init() throws {
        var template = Array("/tmp/oopsd-ki-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemError("mkdtemp", errno: errno)
        }
        path = String(cString: made)
    }

    /// Writes `text` at the absolute path `file` inside the root, creating directories.
    func write(_ file: String, _ text: String) throws {
        let full = root.path(file)
        try FileSystem.makeDirectory(Path.parent(full), parents: true)
        try FileSystem.writeAtomically(full, Array(text.utf8))
    }

    deinit { try? FileSystem.removeTree(path) }
}
