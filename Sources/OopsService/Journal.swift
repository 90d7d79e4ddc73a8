import CSystemd
import SystemCalls

/// Syslog priorities, as journald stores them in `PRIORITY=`.
public enum LogPriority: Int, Sendable {
    case emergency = 0
    case alert, critical, error, warning, notice, info, debug
}

/// Structured logging to the journal, or to standard error where there is no journal.
///
/// Each entry carries `MESSAGE=`, `PRIORITY=`, `SYSLOG_IDENTIFIER=oopsd` and the given fields,
/// whose names must be journal field names (upper case, digits, underscores).
public struct Journal: Sendable {
    /// The identifier entries are filed under.
    public var identifier: String
    /// Where journald listens; entries go to standard error when it is absent.
    public var socketPath: String

    public init(identifier: String = "oopsd", socketPath: String = "/run/systemd/journal/socket") {
        self.identifier = identifier
        self.socketPath = socketPath
    }

    /// Logs `message` at `priority` with extra structured `fields`.
    public func log(_ priority: LogPriority, _ message: String, fields: [(String, String)] = []) {
        var entries = ["MESSAGE=\(message)", "PRIORITY=\(priority.rawValue)", "SYSLOG_IDENTIFIER=\(identifier)"]
        for (name, value) in fields { entries.append("\(name)=\(value)") }
        // A socket left behind by a journald that is gone refuses the entry: then standard error has it.
        if FileSystem.exists(socketPath) && send(entries) {
            return
        } else {
            var line = "\(identifier): \(message)"
            for (name, value) in fields where name != "MESSAGE_ID" { line += " \(name)=\(value)" }
            line += "\n"
            try? FileDescriptor.standardError.writeAll(Array(line.utf8))
        }
    }

    /// Sends one entry; false when journald did not take it.
    private func send(_ entries: [String]) -> Bool {
        // One buffer holds every field; the iovecs point into it only inside the closure.
        var buffer: [UInt8] = []
        var spans: [(offset: Int, length: Int)] = []
        for entry in entries {
            spans.append((buffer.count, entry.utf8.count))
            buffer.append(contentsOf: entry.utf8)
        }
        // Sound because each span lies inside `buffer` by construction and the iovecs do not outlive the closure.
        return unsafe buffer.withUnsafeMutableBytes { raw in
            let vectors = unsafe spans.map { unsafe iovec(iov_base: raw.baseAddress! + $0.offset, iov_len: $0.length) }
            return unsafe sd_journal_sendv(vectors, Int32(vectors.count)) >= 0
        }
    }
}
