import SystemCalls
import TestSupport

/// A temporary directory standing for `/`, with helpers to lay out configuration files (a failure to write one
/// stops the test: the tree is the test's input, not what it checks).
final class TestTree {
    let directory: TemporaryDirectory
    var path: String { directory.path }
    var root: HostRoot { directory.root }

    init() { directory = try! TemporaryDirectory("config") }

    /// Writes `text` at the absolute path `file` inside the tree, creating directories.
    func write(_ file: String, _ text: String) { try! directory.write(file, text) }

    func writeBytes(_ file: String, _ bytes: [UInt8]) { try! directory.write(file, bytes) }

    func mkdir(_ directory: String) { try! self.directory.makeDirectory(directory) }

    func symlink(_ file: String, to target: String) { try! directory.link(file, to: target) }
}
