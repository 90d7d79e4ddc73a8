import FoundationEssentials
import OopsConfig
import Synchronization
import SystemCalls
import Upload

/// Collection as a part of the service: when started, a thread of its own turns the dumps of earlier crashes into
/// reports and journal entries and applies retention (`DumpCollector`), so that signals and re-arming are answered
/// meanwhile. With `[Capture] Target=` it first asks the target for the dumps the capture kernel sent there and
/// records them locally, and afterwards stores their reports beside them (`NetworkCaptureRecords`). A stop takes effect between two dumps; the dumps not reached are collected at the next start.
final class CollectionService: ServicePart, @unchecked Sendable {
    let name = "collection"
    private let collector: DumpCollector
    private let records: NetworkCaptureRecords
    private let configuration: OopsConfiguration
    private let finished: @Sendable () -> Void
    private let done = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)

    /// Collects with `configuration` (the armed one: its dump directory and retention), then calls `finished`.
    init(
        root: HostRoot, log: any ServiceLog, configuration: OopsConfiguration,
        finished: @escaping @Sendable () -> Void = {}
    ) {
        self.collector = DumpCollector(root: root, log: log)
        self.records = NetworkCaptureRecords(
            root: root, configuration: configuration, environment: ProcessInfo.processInfo.environment,
            log: log.uploadLines(prefix: "network capture: "))
        self.configuration = configuration
        self.finished = finished
    }

    /// Whether collection has ended (all dumps collected, or stopped).
    var isFinished: Bool { done.load(ordering: .acquiring) }

    func start() throws {
        try DetachedThread.start { [self] in
            let sent = records.recordNew()
            collector.collect(configuration) { stopRequested.load(ordering: .relaxed) }
            records.sendReports(sent)
            done.store(true, ordering: .releasing)
            finished()
        }
    }

    func stop(waitingUpTo seconds: Double) -> Bool {
        stopRequested.store(true, ordering: .relaxed)
        var waited = 0.0
        while !isFinished {
            if waited >= seconds { return false }
            DetachedThread.sleep(seconds: 0.05)
            waited += 0.05
        }
        return true
    }
}
