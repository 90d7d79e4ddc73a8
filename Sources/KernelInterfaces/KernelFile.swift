import SystemCalls

/// Reads small procfs/sysfs files under a `HostRoot` and turns their text into values, with errors that name
/// the file and what was expected.
public enum KernelFile {
    /// The file's text with surrounding white space removed; nil when the file does not exist.
    public static func text(_ absolutePath: String, root: HostRoot) throws -> String? {
        let path = root.path(absolutePath)
        do {
            return trimmed(try FileSystem.readText(path))
        } catch let error as SystemError where error.errno == .noSuchFileOrDirectory {
            return nil
        }
    }

    /// The file's content as an unsigned decimal integer; nil when the file does not exist.
    public static func unsigned(_ absolutePath: String, root: HostRoot) throws -> UInt64? {
        guard let text = try text(absolutePath, root: root) else { return nil }
        guard let value = UInt64(text) else {
            throw KernelFileError(path: root.path(absolutePath), expected: "an unsigned decimal integer", found: text)
        }
        return value
    }

    /// The file's content as `0` or `1`; nil when the file does not exist.
    public static func flag(_ absolutePath: String, root: HostRoot) throws -> Bool? {
        guard let text = try text(absolutePath, root: root) else { return nil }
        switch text {
        case "0": return false
        case "1": return true
        default: throw KernelFileError(path: root.path(absolutePath), expected: "0 or 1", found: text)
        }
    }

    /// `text` without leading and trailing spaces, tabs and newlines.
    static func trimmed(_ text: some StringProtocol) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = text.lastIndex(where: { !isSpace($0) })!
        return String(text[first...last])
    }
}

/// A kernel file whose content is not what the kernel documents.
public struct KernelFileError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file read (including the host root).
    public var path: String
    /// What the content should have been.
    public var expected: String
    /// What was found (the offending line or value).
    public var found: String
    /// The 1-based line number, when the file has lines.
    public var line: Int?

    public init(path: String, expected: String, found: String, line: Int? = nil) {
        self.path = path
        self.expected = expected
        self.found = found
        self.line = line
    }

    public var description: String {
        let place = line.map { "\(path) line \($0)" } ?? path
        return "\(place): expected \(expected), found \"\(found)\""
    }
}
