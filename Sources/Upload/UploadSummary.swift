import Collection
import FoundationEssentials
import SystemCalls

/// `<dump>/upload-state.json`: per target whether the dump is shipped, and the last error, for retention
/// (`UploadState.isShipped`), `oopsctl list` and the metrics.
public struct UploadSummary: Codable, Equatable, Sendable {
    /// One target's line.
    public struct Target: Codable, Equatable, Sendable {
        public var shipped: Bool
        public var url: String
        public var bytesSent: UInt64
        public var bytesTotal: UInt64
        /// The error of the last attempt (nil once shipped or while it goes well).
        public var error: String?
        /// When this line last changed (ISO 8601, UTC).
        public var updated: String
        /// When the manifest was stored (ISO 8601, UTC).
        public var shippedAt: String?

        enum CodingKeys: String, CodingKey {
            case shipped, url, error, updated
            case bytesSent = "bytes_sent", bytesTotal = "bytes_total", shippedAt = "shipped_at"
        }
    }

    public var targets: [String: Target]

    /// Reads the summary of `dump`, empty when there is none.
    public static func read(dump path: String) -> UploadSummary {
        guard let bytes = try? FileSystem.readBytes(Path.join(path, DumpEntry.FileName.uploadState)),
            let summary = try? JSONDecoder().decode(UploadSummary.self, from: Data(bytes))
        else { return UploadSummary(targets: [:]) }
        return summary
    }

    /// Changes one target's line of `dump`'s summary and writes it atomically.
    static func update(dump path: String, target: String, _ change: (inout Target) -> Void) throws(UploadError) {
        var summary = read(dump: path)
        var line = summary.targets[target]
            ?? Target(shipped: false, url: "", bytesSent: 0, bytesTotal: 0, error: nil, updated: "", shippedAt: nil)
        change(&line)
        line.updated = isoNow()
        summary.targets[target] = line
        let file = Path.join(path, DumpEntry.FileName.uploadState)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try FileSystem.writeAtomically(file, [UInt8](try encoder.encode(summary)) + [10])
        } catch {
            throw .localFile(path: file, message: "cannot write: \(error)")
        }
    }

    /// Now as `2026-01-31T12:00:00Z`.
    static func isoNow() -> String { UTCTime.nowISO8601() }
}
