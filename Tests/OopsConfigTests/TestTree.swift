import Foundation
import SystemCalls

/// A temporary directory standing for `/`, with helpers to lay out configuration files.
final class TestTree {
    let path: String

    init() {
        let template = NSTemporaryDirectory() + "oopsd-config-XXXXXX"
        var bytes = Array(template.utf8CString)
        path = bytes.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var root: HostRoot { HostRoot(path) }

    /// Writes `text` at the absolute path `file` inside the tree, creating directories.
    func write(_ file: String, _ text: String) {
        writeBytes(file, Array(text.utf8))
    }

    func writeBytes(_ file: String, _ bytes: [UInt8]) {
        let full = path + file
        try! FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(bytes))
    }

    func mkdir(_ directory: String) {
        try! FileManager.default.createDirectory(atPath: path + directory, withIntermediateDirectories: true)
    }

    func symlink(_ file: String, to target: String) {
        mkdir((file as NSString).deletingLastPathComponent)
        try! FileManager.default.createSymbolicLink(atPath: path + file, withDestinationPath: target)
    }
}
