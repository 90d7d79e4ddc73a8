import Collection
import FoundationEssentials
import OopsConfig
import RemoteStorage
import Synchronization
import SystemCalls
import Upload

/// Uploads as a part of the service: ships dumps in a thread of its own (the service keeps answering signals and
/// re-arming), in rounds over every unshipped dump and target until all are shipped; after a failed round it waits
/// `RetryInterval=`, doubled per failed round up to an hour, with jitter (Upload's `Backoff`). It begins once
/// `collection` has finished, since it ships the reports collection writes. A stop takes effect at a part boundary.
final class UploadService: ServicePart, @unchecked Sendable {
    let name = "uploads"
    let root: HostRoot
    let log: any ServiceLog
    let collection: CollectionService
    let metrics: MetricsService
    private let running = Mutex(false)
    private let stopRequest = UploadStop()

    init(root: HostRoot, log: any ServiceLog, after collection: CollectionService, metrics: MetricsService) {
        self.root = root
        self.log = log
        self.collection = collection
        self.metrics = metrics
    }

    /// Starts the rounds in the background unless they are running.
    func start() {
        let started = running.withLock { running in
            if running { return false }
            running = true
            return true
        }
        guard started else { return }
        do {
            try DetachedThread.start { [self] in
                loop()
                running.withLock { $0 = false }
            }
        } catch {
            running.withLock { $0 = false }
            log.log(.error, "upload: cannot start the upload thread: \(error)", fields: [])
        }
    }

    /// Stops shipping at the next part boundary (SIGTERM) and waits up to `seconds` for the thread to finish the
    /// parts in flight; the next start resumes from the parts recorded. True when it finished in time.
    func stop(waitingUpTo seconds: Double) -> Bool {
        stopRequest.request()
        var waited = 0.0
        while running.withLock({ $0 }) {
            if waited >= seconds { return false }
            DetachedThread.sleep(seconds: 0.1)
            waited += 0.1
        }
        return true
    }

    private func loop() {
        while !collection.isFinished {
            if stopRequest.isRequested { return }
            DetachedThread.sleep(seconds: 0.1)
        }
        var failures = 0
        while true {
            // Read afresh each round: a fixed credentials file or URL takes effect on the next try.
            let configuration = OopsConfiguration(MergedConfiguration.load(root: root))
            if stopRequest.isRequested { return }
            var uploader = FleetUploader(
                root: root, configuration: configuration, environment: ProcessInfo.processInfo.environment,
                log: log.uploadLines(prefix: "upload: "))
            uploader.stop = stopRequest
            let round = uploader.ship()
            if stopRequest.isRequested { return }
            if !round.shipped.isEmpty {
                // Dumps kept only because they were unshipped may go now.
                let retention = Retention(policy: .init(configuration.retention), uploadTargets: uploader.targetNames)
                for line in (try? retention.enforce(on: uploader.store)) ?? [] {
                    log.log(line.hasPrefix("deleted") ? .notice : .warning, "retention: \(line)", fields: [])
                }
            }
            metrics.update(configuration)
            if round.failed.isEmpty { return }
            failures += 1
            let base = Double(configuration.upload.retryInterval.microseconds) / 1_000_000
            let wait = Backoff(base: base, cap: 3600, jitterFloor: 0.75).wait(after: failures)
            log.log(
                .warning, "upload: \(round.pending) dump(s) not yet shipped; next attempt in \(Int(wait.rounded()))s",
                fields: [])
            // In steps of a second, so that a stop between rounds does not wait for the whole backoff.
            var slept = 0.0
            while slept < wait && !stopRequest.isRequested {
                DetachedThread.sleep(seconds: min(1, wait - slept))
                slept += 1
            }
        }
    }
}

extension ServiceLog {
    /// The Upload module's log lines, at their journal priority, each after `prefix`.
    func uploadLines(prefix: String) -> (UploadLogLevel, String) -> Void {
        { level, message in
            let priority: LogPriority =
                switch level {
                case .info: .info
                case .notice: .notice
                case .warning: .warning
                case .error: .error
                }
            self.log(priority, prefix + message, fields: [])
        }
    }
}
