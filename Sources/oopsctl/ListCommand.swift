import ArgumentParser
import Collection
import Foundation

/// `oopsctl list`: the saved dumps, oldest first.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the saved kernel crash dumps, oldest first.",
        discussion: """
            Reads the dump directory ([Capture] Directory=, /var/crash by default). For each dump: its ID (the \
            directory name, which 'info', 'dmesg', 'dump' and 'debug' accept, as does a unique prefix or -1 for \
            the newest), the crash time (UTC), the kernel release, whether the capture completed, the size, the \
            crash signature (dumps with the same signature crashed the same way) and the oops or panic line.

            """ + DumpCommandSupport.exitStatus)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    /// One row of the listing.
    struct Row: Codable {
        var id: String
        var path: String
        var crashTime: Int64
        var crashTimeUtc: String
        var kernelRelease: String?
        var complete: Bool
        var sizeBytes: UInt64
        var diskBytes: UInt64
        var signature: String
        var headline: String
    }

    func run() throws {
        let store = DumpCommandSupport.store(global)
        let rows: [Row] = try DumpCommandSupport.run {
            try store.list().map { entry in
                let report = (try? ReportFiles.read(entry)) ?? ReportBuilder.build(entry, readVMCore: false)
                return Row(
                    id: entry.id, path: entry.path, crashTime: entry.crashTime,
                    crashTimeUtc: ReportBuilder.utcText(entry.crashTime), kernelRelease: report.kernelRelease,
                    complete: entry.isComplete, sizeBytes: entry.apparentBytes, diskBytes: entry.allocatedBytes,
                    signature: report.signature, headline: report.headline)
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        if rows.isEmpty {
            print("No dumps in \(store.directory).")
            return
        }
        let table = [["ID", "TIME (UTC)", "KERNEL", "COMPLETE", "SIZE", "SIGNATURE", "PANIC"]] + rows.map { row in
            [
                row.id, String(row.crashTimeUtc.dropLast(4)), row.kernelRelease ?? "-", row.complete ? "yes" : "no",
                ByteCount.text(row.sizeBytes), String(row.signature.prefix(12)), row.headline,
            ]
        }
        let widths = (0..<6).map { column in table.map { $0[column].count }.max()! }
        for line in table {
            var text = ""
            for column in 0..<6 { text += line[column] + String(repeating: " ", count: widths[column] - line[column].count + 2) }
            print(text + line[6])
        }
    }
}
