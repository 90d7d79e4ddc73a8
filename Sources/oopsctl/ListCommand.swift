import ArgumentParser
import Collection
import DumpFormat
import FoundationEssentials
import OopsConfig
import Upload

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
    struct Row: Encodable {
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
        /// Per configured upload target: shipped, or how far and the last error.
        var upload: [String: UploadState.Target]
    }

    func run() throws {
        let store = DumpCommandSupport.store(global)
        let targets = OopsConfiguration(MergedConfiguration.load(root: global.hostRoot)).upload.targets.map(\.name)
        let rows: [Row] = try DumpCommandSupport.run {
            try store.list().map { entry in
                let report = (try? ReportFiles.read(entry)) ?? ReportBuilder.build(entry, readVMCore: false)
                return Row(
                    id: entry.id, path: entry.path, crashTime: entry.crashTime,
                    crashTimeUtc: ReportBuilder.utcText(entry.crashTime), kernelRelease: report.kernelRelease,
                    complete: entry.isComplete, sizeBytes: entry.apparentBytes, diskBytes: entry.allocatedBytes,
                    signature: report.signature, headline: report.headline,
                    upload: UploadState.read(dump: entry.path).targets.filter { targets.contains($0.key) })
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
            print(TerminalText.escaped("No dumps in \(store.directory).", lines: false))
            return
        }
        // The UPLOAD column only when [Upload.NAME] targets are configured.
        let header =
            ["ID", "TIME (UTC)", "KERNEL", "COMPLETE", "SIZE", "SIGNATURE"] + (targets.isEmpty ? [] : ["UPLOAD"])
        let table =
            [header + ["PANIC"]]
            + rows.map { row in
                [
                    row.id, String(row.crashTimeUtc.dropLast(4)), row.kernelRelease ?? "-", row.complete ? "yes" : "no",
                    ByteCount.text(row.sizeBytes), String(row.signature.prefix(12)),
                ] + (targets.isEmpty ? [] : [Self.uploadColumn(row, targets)]) + [row.headline]
            }.map { $0.map { TerminalText.escaped($0, lines: false) } }
        let columns = header.count
        let widths = (0..<columns).map { column in table.map { $0[column].count }.max()! }
        for line in table {
            var text = ""
            for column in 0..<columns {
                text += line[column] + String(repeating: " ", count: widths[column] - line[column].count + 2)
            }
            print(text + line[columns])
        }
        // Errors are long: one line each under the table.
        for row in rows {
            for target in targets {
                if let error = row.upload[target]?.error {
                    print(TerminalText.escaped("\(row.id): upload to \(target) failed: \(error)", lines: false))
                }
            }
        }
    }
}

extension ListCommand {
    /// `rgw:shipped sftp:42%` or `-` when no target is configured; `failed` when the last attempt failed.
    static func uploadColumn(_ row: Row, _ targets: [String]) -> String {
        if targets.isEmpty { return "-" }
        return targets.map { target in
            guard let line = row.upload[target] else { return "\(target):pending" }
            if line.shipped { return "\(target):shipped" }
            if line.error != nil { return "\(target):failed" }
            let percent = line.bytesTotal == 0 ? 0 : line.bytesSent * 100 / line.bytesTotal
            return "\(target):\(percent)%"
        }.joined(separator: " ")
    }
}
