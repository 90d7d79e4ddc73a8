import Collection
import OopsConfig
import SystemCalls

/// After a reboot: turns new dumps into reports, announces each in the journal, and applies retention.
public struct DumpCollector {
    /// The journal's `MESSAGE_ID=` of "a new kernel crash dump was collected" (see systemd/oopsd.catalog).
    public static let newDumpMessageID = "e68bae3ec1404f71bfa4518e0160043f"

    public var root: HostRoot
    public var log: any ServiceLog

    public init(root: HostRoot, log: any ServiceLog) {
        self.root = root
        self.log = log
    }

    /// Reports every unprocessed dump under `[Capture] Directory=`, then enforces `[Retention]`; when `stopped`
    /// says so between two dumps, stops there (without retention). Returns the new reports.
    @discardableResult
    public func collect(_ configuration: OopsConfiguration, stopped: () -> Bool = { false }) -> [Report] {
        let directory = root.path(configuration.capture.directory)
        guard FileSystem.exists(directory) else { return [] }
        let store = DumpStore(directory: directory)
        var reports: [Report] = []
        do {
            reports = try ReportFiles.collectNew(in: store, stopped: stopped) { entry, error in
                log.log(.error, "cannot write the report of \(entry.id): \(error)", fields: [])
            }
        } catch {
            log.log(.error, "cannot collect dumps in \(configuration.capture.directory): \(error)", fields: [])
        }
        for report in reports {
            let state = report.complete ? "complete" : "INCOMPLETE (\(report.incompleteReason ?? "reason unknown"))"
            let what = report.panicLine ?? report.problemLine ?? "no panic line in the log"
            log.log(
                report.complete ? .critical : .error,
                "kernel crash dump \(report.id) collected, \(state): \(what)",
                fields: [
                    ("MESSAGE_ID", Self.newDumpMessageID),
                    ("OOPSD_DUMP", Path.join(configuration.capture.directory, report.id)),
                    ("OOPSD_SIGNATURE", report.signature),
                    ("OOPSD_KERNEL_RELEASE", report.kernelRelease ?? ""),
                    ("OOPSD_PANIC_LINE", report.panicLine ?? ""),
                    ("OOPSD_COMPLETE", report.complete ? "1" : "0"),
                    ("OOPSD_CRASH_TIME", report.crashTimeUTC ?? ""),
                ])
        }
        if stopped() { return reports }
        do {
            let retention = Retention(
                policy: .init(configuration.retention), uploadTargets: configuration.upload.targets.map(\.name))
            for line in try retention.enforce(on: store) {
                log.log(line.hasPrefix("deleted") ? .notice : .warning, "retention: \(line)", fields: [])
            }
        } catch {
            log.log(.error, "retention in \(configuration.capture.directory) failed: \(error)", fields: [])
        }
        return reports
    }
}
