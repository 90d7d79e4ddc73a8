import Collection
import DumpFormat
import OopsConfig
import RemoteStorage
import SystemCalls

/// Ships every dump not yet shipped to every configured target: what the service does after collecting, and what
/// `oopsctl upload` does on demand.
public struct FleetUploader {
    /// How a round went.
    public struct Round: Sendable {
        /// (dump ID, target) shipped in this round.
        public var shipped: [(dump: String, target: String)] = []
        /// (dump ID, target, error) that failed in this round and will be retried.
        public var failed: [(dump: String, target: String, error: UploadError)] = []
        /// Dumps still not shipped to every target after the round.
        public var pending = 0
    }

    public var root: HostRoot
    public var configuration: OopsConfiguration
    public var environment: [String: String]
    public var log: (UploadLogLevel, String) -> Void
    public var progress: (ShipProgress) -> Void
    /// Asked by the service's shutdown: the round ends at the next part boundary.
    public var stop = UploadStop()

    public init(
        root: HostRoot, configuration: OopsConfiguration, environment: [String: String],
        log: @escaping (UploadLogLevel, String) -> Void, progress: @escaping (ShipProgress) -> Void = { _ in }
    ) {
        self.root = root
        self.configuration = configuration
        self.environment = environment
        self.log = log
        self.progress = progress
    }

    /// The names of the configured targets (what retention waits for).
    public var targetNames: [String] { configuration.upload.targets.map(\.name) }

    /// The dump store of `[Capture] Directory=`.
    public var store: DumpStore { DumpStore(directory: root.path(configuration.capture.directory)) }

    /// Ships `only` (or every dump) to every target it has not reached; failures are logged and recorded in the
    /// dump's `upload-state.json`, never fatal to the other dumps or targets.
    public func ship(only: [DumpEntry]? = nil) -> Round {
        var round = Round()
        let targets = configuration.upload.targets
        if targets.isEmpty { return round }
        let entries: [DumpEntry]
        do { entries = try only ?? store.list() } catch {
            log(.error, "\(error)")
            return round
        }
        let machineID: String
        do { machineID = try MachineID.read(root: root) } catch {
            log(.error, "\(error)")
            for entry in entries { round.failed += targets.map { (entry.id, $0.name, error) } }
            round.pending = entries.count
            return round
        }
        // The record of a dump the capture kernel sent to the network holds its small files only: never shipped.
        for entry in entries where !FileSystem.exists(entry.file(DumpLayout.networkManifest)) {
            var complete = true
            let summary = UploadState.read(dump: entry.path)
            for configured in targets
            where summary.targets[configured.name]?.shipped != true
                || only != nil
            {
                do {
                    let target = try UploadTarget.check(configured, root: root)
                    var shipper = DumpShipper(
                        target: target, machineID: machineID, attempts: configuration.upload.attempts,
                        environment: environment, log: log, progress: progress)
                    shipper.stop = stop
                    log(
                        .info,
                        "shipping \(entry.id) to \(target.name) (\(shipper.remoteDirectory(entry.id))/ of \(target.url))"
                    )
                    try shipper.ship(entry)
                    round.shipped.append((entry.id, target.name))
                    log(.notice, "dump \(entry.id) shipped to \(target.name): manifest stored")
                } catch {
                    complete = false
                    round.failed.append((entry.id, configured.name, error))
                    try? UploadState.update(dump: entry.path, target: configured.name) {
                        $0.url = configured.url
                        $0.error = error.description
                    }
                    log(.error, "dump \(entry.id) not shipped to \(configured.name): \(error)")
                }
            }
            if !complete { round.pending += 1 }
            if stop.isRequested { break }
        }
        return round
    }
}
