import OopsConfig
import Synchronization
import SystemCalls

/// The metrics file as a part of the service: rewritten after every arming, after collection and after every upload
/// round (each from its own thread, one at a time), and once more when the service stops.
final class MetricsService: ServicePart, @unchecked Sendable {
    let name = "metrics"
    let root: HostRoot
    let log: any ServiceLog
    private let last = Mutex<OopsConfiguration?>(nil)

    init(root: HostRoot, log: any ServiceLog) {
        self.root = root
        self.log = log
    }

    func start() throws {}

    /// Rewrites the file for `configuration` (its `MetricsFile=`); a failure is a warning.
    func update(_ configuration: OopsConfiguration) {
        last.withLock { last in
            last = configuration
            do { try MetricsTextfile.write(root: root, configuration: configuration) } catch {
                log.log(
                    .warning, "cannot write the metrics file \(configuration.upload.metricsFile): \(error)", fields: [])
            }
        }
    }

    /// The last word: the file as the service leaves the machine (disarmed or not, uploads pending).
    func stop(waitingUpTo seconds: Double) -> Bool {
        if let configuration = last.withLock({ $0 }) { update(configuration) }
        return true
    }
}
