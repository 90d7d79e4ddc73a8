import OopsConfig
import Synchronization
import SystemCalls

/// Collection as a part of the service: when started, a thread of its own turns the dumps of earlier crashes into
/// reports and journal entries and applies retention (`DumpCollector`), so that signals and re-arming are answered
/// meanwhile. A stop takes effect between two dumps; the dumps not reached are collected at the next start.
final class CollectionService: ServicePart, @unchecked Sendable {
    let name = "collection"
    private let collector: DumpCollector
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
        self.configuration = configuration
        self.finished = finished
    }

    /// Whether collection has ended (all dumps collected, or stopped).
    var isFinished: Bool { done.load(ordering: .acquiring) }

    func start() throws {
        try DetachedThread.start { [self] in
            collector.collect(configuration) { stopRequested.load(ordering: .relaxed) }
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
