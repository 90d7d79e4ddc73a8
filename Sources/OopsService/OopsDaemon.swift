import DumpFormat
import KernelInterfaces
import OopsConfig
import SystemCalls

/// The long-running service: its parts under one `ServiceSupervisor`, started in this order and stopped in the
/// reverse one: the watchdog; arming (first, so that a crash during collection is caught); collection of earlier
/// crashes; uploads, which ship what collection reported; the metrics file. The main thread answers signals, file
/// changes and hotplug with typed events and hands them to arming.
public final class OopsDaemon {
    let root: HostRoot
    let journal: any ServiceLog
    private let armingService: ArmingService

    /// systemd's `TimeoutStopSec=` (90 s by default): everything stops within it, uploads getting the most.
    static let stopBudgetSeconds = 85.0

    /// `launchedAt`: CLOCK_MONOTONIC microseconds when the executable's own code began, logged with each arming.
    public init(root: HostRoot, journal: any ServiceLog = Journal(), arming: any Arming, launchedAt: UInt64? = nil) {
        self.root = root
        self.journal = journal
        self.armingService = ArmingService(root: root, journal: journal, arming: arming, launchedAt: launchedAt)
    }

    /// The configuration currently armed (the last good one).
    var armedConfiguration: OopsConfiguration? { armingService.armedConfiguration }

    /// Reads the configuration and arms with it; a broken configuration keeps the last good one.
    public func reload(reason: String) { armingService.reload(reason: reason) }

    /// Runs until SIGTERM or SIGINT; returns the process exit status.
    public func run() -> Int32 {
        let sources: ServiceEventSources
        do {
            sources = try ServiceEventSources(uevents: armingService.arming.hotplugNeedsReload())
            for problem in sources.problems {
                journal.log(.warning, "cannot watch files or hotplug, changes will need SIGHUP: \(problem)", fields: [])
            }
        } catch {
            journal.log(.critical, "cannot receive signals: \(error)", fields: [])
            return 1
        }
        if let dump = ReturnKernelFiles.afterCrash(
            inCommandLine: (try? FileSystem.readText(root.path("/proc/cmdline"))) ?? "")
        {
            journal.log(
                .notice,
                "this boot is the capture kernel's kexec return after a crash (dump \(dump)): arming and collecting",
                fields: [("OOPSD_AFTER_CRASH", dump)])
        }

        let supervisor = ServiceSupervisor(log: journal)
        let metrics = MetricsService(root: root, log: journal)
        armingService.armed = { metrics.update($0) }
        supervisor.start(WatchdogService(), stopSeconds: 1)
        supervisor.start(metrics, stopSeconds: 5)
        supervisor.start(armingService, stopSeconds: 20)
        addWatches(sources)
        ServiceNotifier.ready(status: armingService.status.message)
        // Not armed (no reservation, say): still the configured dump directory, upload targets and retention.
        let collection = CollectionService(
            root: root, log: journal,
            configuration: armedConfiguration ?? OopsConfiguration(MergedConfiguration.load(root: root)))
        supervisor.start(collection, stopSeconds: 10)
        supervisor.start(UploadService(root: root, log: journal, after: collection, metrics: metrics), stopSeconds: 60)

        while true {
            var hotplug = false
            for event in sources.wait(timeoutMicroseconds: armingService.wait(atMost: 60_000_000)) {
                switch event {
                case .reloadRequested:
                    ServiceNotifier.reloading()
                    armingService.reload(reason: "SIGHUP")
                    ServiceNotifier.ready(status: armingService.status.message)
                case .stopRequested:
                    supervisor.stopAll(budget: Self.stopBudgetSeconds)
                    ServiceNotifier.stopping(status: armingService.status.message)
                    return 0
                case .fileChanged(let paths):
                    addWatches(sources)  // directories created since may now exist
                    let configuration = Set(ConfigSources.watchedDirectories.map(root.path))
                    let tree = paths.isEmpty || paths.contains { !configuration.contains($0) }
                    armingService.schedule(
                        reason: paths.isEmpty
                            ? "a watched file changed"
                            : "changed: \(paths.joined(separator: ", "))", tree: tree)
                case .uevent(let fields):
                    hotplug = hotplug || Self.isHotplug(fields)
                }
            }
            if hotplug { armingService.schedule(reason: "CPU or memory hotplug") }
            if armingService.rearmIfDue() { ServiceNotifier.status(armingService.status.message) }
        }
    }

    private func addWatches(_ sources: ServiceEventSources) {
        guard sources.watchesFiles else { return }
        for path in armingService.watchedPaths where FileSystem.exists(root.path(path)) {
            try? sources.watch(root.path(path))
        }
    }

    /// Whether a uevent adds, removes, onlines or offlines memory or a CPU.
    static func isHotplug(_ fields: [String]) -> Bool {
        (fields.contains("SUBSYSTEM=memory") || fields.contains("SUBSYSTEM=cpu"))
            && fields.contains(where: {
                ["ACTION=add", "ACTION=remove", "ACTION=online", "ACTION=offline"].contains($0)
            })
    }
}
