import DumpFormat
import FoundationEssentials
import SystemCalls

/// Reading and writing `report.json` / `report.txt` next to a dump, and collecting the dumps that have none.
public enum ReportFiles {
    /// The report as stable JSON: sorted snake_case keys, pretty-printed, trailing newline.
    public static func json(_ report: Report) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(report)) + [UInt8(ascii: "\n")]
    }

    /// Parses report.json.
    public static func decode(_ bytes: [UInt8], path: String) throws -> Report {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(Report.self, from: Data(bytes))
        } catch {
            throw CollectionError.malformedFile(
                path: path, reason: "not a report.json of schema \(Report.currentSchemaVersion) (\(error))")
        }
    }

    /// Writes report.txt and then report.json into the dump (atomically, `0600`: a report quotes kernel memory).
    /// report.json goes last because its presence marks the dump as collected.
    public static func write(_ report: Report, to entry: DumpEntry) throws {
        try FileSystem.writeAtomically(
            entry.file(DumpLayout.reportText), Array(ReportText.render(report).utf8), mode: 0o600)
        try FileSystem.writeAtomically(entry.file(DumpLayout.reportJSON), try json(report), mode: 0o600)
    }

    /// The saved report of `entry`, nil when it has none yet.
    public static func read(_ entry: DumpEntry) throws -> Report? {
        let path = entry.file(DumpLayout.reportJSON)
        guard FileSystem.exists(path) else { return nil }
        let data: [UInt8]
        do {
            data = try FileSystem.readRegularFile(path, limit: 16 << 20)
        } catch {
            throw CollectionError.cannotRead(path: path, cause: FileReadError(caught: error))
        }
        return try decode(data, path: path)
    }

    /// The saved report, or a freshly built (and, when `save`, written) one.
    public static func load(_ entry: DumpEntry, save: Bool) throws -> Report {
        if let report = try? read(entry), report.schemaVersion == Report.currentSchemaVersion { return report }
        let report = ReportBuilder.build(entry)
        if save { try write(report, to: entry) }
        return report
    }

    /// Writes reports for every dump of `store` that has no report.json; returns the new reports. A dump whose
    /// report cannot be written is handed to `failed` and the others go on: it stays uncollected, for the next try.
    /// When `stopped` says so, stops before the next dump.
    public static func collectNew(
        in store: DumpStore, stopped: () -> Bool = { false }, failed: (DumpEntry, any Error) -> Void
    ) throws -> [Report] {
        var made: [Report] = []
        for entry in try store.list() where !FileSystem.exists(entry.file(DumpLayout.reportJSON)) {
            if stopped() { break }
            let report = ReportBuilder.build(entry)
            do {
                try write(report, to: entry)
                made.append(report)
            } catch {
                failed(entry, error)
            }
        }
        return made
    }
}
