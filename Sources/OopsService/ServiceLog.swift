/// Where the service's log lines go: the journal in production, a recorder in tests.
public protocol ServiceLog: Sendable {
    /// Logs `message` at `priority` with structured journal `fields`.
    func log(_ priority: LogPriority, _ message: String, fields: [(String, String)])
}

extension Journal: ServiceLog {}

extension ServiceLog {
    /// Logs `message` at `priority` without extra fields.
    public func log(_ priority: LogPriority, _ message: String) { log(priority, message, fields: []) }
}
