/// Where a value or a problem came from: a file and a 1-based line number.
public struct ConfigOrigin: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The file's path as the reader opened it (inside the host root).
    public var file: String
    /// 1-based line number; 0 when the problem concerns the whole file.
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { line > 0 ? "\(file):\(line)" : file }
}

/// A problem found while reading configuration: `file:line: message`.
public struct ConfigDiagnostic: Equatable, Sendable, CustomStringConvertible {
    /// Errors make `oopsctl config --validate` fail and keep the last good configuration armed.
    public enum Severity: String, Equatable, Sendable { case error, warning }

    public var severity: Severity
    public var origin: ConfigOrigin
    public var message: String

    public init(_ severity: Severity, _ origin: ConfigOrigin, _ message: String) {
        self.severity = severity
        self.origin = origin
        self.message = message
    }

    /// `file:line: message`, the form editors and compilers use.
    public var description: String { "\(origin): \(severity == .warning ? "warning: " : "")\(message)" }
}
