import DumpFormat
import KernelInterfaces
import OopsConfig
import SystemCalls

/// The long-running service: arms at start, re-arms on change, keeps the last good
/// configuration armed when a new one is broken, and disarms when stopped.
public final class OopsDaemon {
    let root: HostRoot
    let journal: any ServiceLog
    let arming: any Arming

    /// The configuration currently armed (the last good one).
    private(set) var armedConfiguration: OopsConfiguration?
    private var status: ServiceStatus
    private var rearmDeadline: UInt64?  // monotonic microseconds
    private var rearmReason = ""
    private lazy var uploads = UploadWorker(root: root, log: journal)

    public init(root: HostRoot, journal: any ServiceLog = Journal(), arming: any Arming) {
        self.root = root
        self.journal = journal
        self.arming = arming
        self.status = ServiceStatus(armed: false, message: "starting", pid: CurrentProcess.id)
    }

    /// Runs until SIGTERM or SIGINT; returns the process exit status.
    public func run() -> Int32 {
        let sources: ServiceEventSources
        do {
            sources = try ServiceEventSources(uevents: arming.hotplugNeedsReload())
            for problem in sources.problems {
                journal.log(.warning, "cannot watch files or hotplug, changes will need SIGHUP: \(problem)", fields: [])
            }
        } catch {
            journal.log(.critical, "cannot receive signals: \(error)", fields: [])
            return 1
        }
        // The watchdog is fed from a thread of its own: arming (an initramfs build) or a long report must not get
        // the service killed.
        var feeder: WatchdogFeeder?
        if let interval = ServiceNotifier.watchdogInterval {
            do {
                feeder = try WatchdogFeeder(every: Double(interval.microseconds) / 2_000_000) {
                    ServiceNotifier.watchdog()
                }
            } catch {
                journal.log(.warning, "cannot feed the watchdog from a thread, systemd may restart oopsd: \(error)")
            }
        }
        defer { feeder?.stop() }

        if let dump = ReturnKernelFiles.afterCrash(
            inCommandLine: (try? FileSystem.readText(root.path("/proc/cmdline"))) ?? "")
        {
            journal.log(
                .notice,
                "this boot is the capture kernel's kexec return after a crash (dump \(dump)): arming and collecting",
                fields: [("OOPSD_AFTER_CRASH", dump)])
        }
        reload(reason: "start")
        addWatches(sources)
        ServiceNotifier.ready(status: status.message)
        // Armed first (a crash during collection must still be caught), then the dumps of earlier crashes.
        // Not armed (no reservation, say): still the configured dump directory, upload targets and retention.
        DumpCollector(root: root, log: journal).collect(
            armedConfiguration ?? OopsConfiguration(MergedConfiguration.load(root: root)))
        // Then ship them, in the background: uploads of many GB must not hold up signals or the watchdog.
        uploads.start()

        while true {
            let now = MonotonicClock.microseconds
            var wait: UInt64 = 60_000_000
            if let rearmDeadline { wait = min(wait, rearmDeadline > now ? rearmDeadline - now : 0) }
            var hotplug = false
            for event in sources.wait(timeoutMicroseconds: wait) {
                switch event {
                case .reloadRequested:
                    ServiceNotifier.reloading()
                    reload(reason: "SIGHUP")
                    ServiceNotifier.ready(status: status.message)
                case .stopRequested:
                    stop()
                    return 0
                case .fileChanged:
                    addWatches(sources)  // directories created since may now exist
                    schedule(reason: "a watched file changed")
                case .uevent(let fields):
                    hotplug = hotplug || Self.isHotplug(fields)
                }
            }
            if hotplug { schedule(reason: "CPU or memory hotplug") }
            let later = MonotonicClock.microseconds
            if let deadline = rearmDeadline, later >= deadline {
                rearmDeadline = nil
                reload(reason: rearmReason)
                ServiceNotifier.status(status.message)
            }
        }
    }

    /// Reads the configuration and arms with it; a broken configuration keeps the last good one.
    public func reload(reason: String) {
        let merged = MergedConfiguration.load(root: root)
        for diagnostic in merged.diagnostics {
            journal.log(
                diagnostic.severity == .error ? .error : .warning, "configuration: \(diagnostic)",
                fields: [("CONFIG_FILE", diagnostic.origin.file), ("CONFIG_LINE", String(diagnostic.origin.line))])
        }
        status.configErrors = merged.errors.map(\.description)
        if !merged.isValid {
            if armedConfiguration != nil {
                journal.log(
                    .error,
                    "configuration has \(merged.errors.count) error(s); keeping the last good configuration armed")
                status.message = "armed with the last good configuration; fix \(merged.errors[0].origin)"
                writeStatus()
                return
            }
            // First start with a broken file: the bad assignments were skipped, so arm with the rest
            // rather than leave the machine without a capture kernel.
            journal.log(
                .error, "configuration has \(merged.errors.count) error(s); arming with the valid settings and defaults"
            )
        }
        arm(OopsConfiguration(merged), reason: reason)
    }

    private func arm(_ configuration: OopsConfiguration, reason: String) {
        do {
            let outcome = try arming.arm(configuration)
            armedConfiguration = configuration
            status.record(outcome)
            status.message =
                status.configErrors.isEmpty
                ? "armed: \(outcome.kernelRelease), initramfs \(outcome.image.bytes / 1024) KiB, dumps to \(outcome.dumpDirectory)"
                : "armed with errors in the configuration skipped; fix \(status.configErrors[0])"
            journal.log(
                .info, outcome.loaded ? "armed (\(reason)): \(status.message)" : "unchanged (\(reason)): still armed",
                fields: [
                    ("OOPSD_KERNEL", outcome.kernelImage), ("OOPSD_INITRAMFS", outcome.image.path),
                    ("OOPSD_INITRAMFS_SHA256", outcome.image.sha256),
                    ("OOPSD_CMDLINE", outcome.commandLine),
                    ("OOPSD_INITRAMFS_SECONDS", String(outcome.imageSeconds)),
                    ("OOPSD_INITRAMFS_REUSED", outcome.image.reused ? "1" : "0"),
                    ("OOPSD_LOAD_SECONDS", String(outcome.loadSeconds)),
                ])
            switch outcome.returnKernel {
            case nil: break
            case .available(let files)?:
                journal.log(
                    .info,
                    "kexec return prepared: \(files.kernel) and \(files.initramfs) on UUID \(files.fileSystemUUID)")
            case .unavailable(let reason)?:
                journal.log(.warning, "FinalAction=kexec cannot return without the firmware, it will reboot: \(reason)")
            }
        } catch {
            status.lastError = "\(error)"
            let stillArmed = armedConfiguration != nil && ((try? CrashReservation.isLoaded(root: root)) ?? false)
            status.armed = stillArmed
            status.message =
                stillArmed
                ? "re-arming failed, the previous capture kernel stays loaded: \(error)"
                : "not armed: \(error)"
            journal.log(.error, "arming failed (\(reason)): \(error)")
        }
        writeStatus()
    }

    private func stop() {
        // Uploads first: parts in flight finish and are recorded, so the next start resumes after them.
        // systemd allows 90 s (TimeoutStopSec=); disarming must still happen within it.
        if !uploads.stop(waitingUpTo: 60) {
            journal.log(.warning, "upload: parts still in flight after 60 s; stopping anyway (resumed at next start)")
        }
        if armedConfiguration == nil && !((try? CrashReservation.isLoaded(root: root)) ?? false) {
            status.armed = false
            status.message = "stopped; nothing was armed"
            writeStatus()
            ServiceNotifier.stopping(status: status.message)
            return
        }
        do {
            try arming.disarm()
            status.armed = false
            status.message = "disarmed: the service stopped"
            journal.log(.info, "disarmed: the service stopped")
        } catch {
            status.lastError = "\(error)"
            status.message = "stopping, but disarming failed: \(error)"
            journal.log(.error, "disarming failed: \(error)")
        }
        writeStatus()
        ServiceNotifier.stopping(status: status.message)
    }

    private func schedule(reason: String) {
        let delay = (armedConfiguration?.service.rearmDelay ?? TimeSpan(seconds: 2)).microseconds
        let (deadline, overflow) = MonotonicClock.microseconds.addingReportingOverflow(delay)
        rearmDeadline = overflow ? .max : deadline
        rearmReason = reason
    }

    private func addWatches(_ sources: ServiceEventSources) {
        guard sources.watchesFiles else { return }
        var paths = ConfigSources.watchedDirectories
        if let armedConfiguration { paths += arming.watchedPaths(armedConfiguration) }
        for path in paths where FileSystem.exists(root.path(path)) {
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

    private func writeStatus() {
        status.pid = CurrentProcess.id
        do { try status.write(root: root) } catch {
            journal.log(.warning, "cannot write \(ServiceStatus.path): \(error)")
        }
    }
}
