import DumpFormat
import KernelInterfaces
import OopsConfig
import SystemCalls

/// Arming as a part of the service: arms when started, re-arms on request (SIGHUP, a changed file, hotplug: after
/// `RearmDelay=` of quiet, or `treeQuietSeconds` for the kernel and module trees), keeps the last good configuration
/// armed when a new one is broken, and disarms when stopped.
/// Runs on the service's main thread; its state is in `/run/oopsd/status.json` (`oopsctl status`).
final class ArmingService: ServicePart {
    let name = "arming"
    let root: HostRoot
    let journal: any ServiceLog
    let arming: any Arming
    /// Told after every arming attempt (the metrics file shows the armed state).
    var armed: (OopsConfiguration) -> Void = { _ in }

    /// The configuration currently armed (the last good one).
    private(set) var armedConfiguration: OopsConfiguration?
    private(set) var status: ServiceStatus
    private var rearmDeadline: UInt64?  // monotonic microseconds
    private var rearmReason = ""
    /// CLOCK_MONOTONIC microseconds; a test's own clock in tests.
    private let clock: () -> UInt64

    /// How long the kernel images' and modules' trees must stay unchanged before a re-arm, at least: package
    /// managers write them in bursts that last minutes with pauses of seconds (apt installing a kernel, DKMS building
    /// and installing a module, depmod, update-initramfs), and a re-arm at each pause reads a half-written tree and
    /// may reload the capture kernel for nothing. The configuration's own folders re-arm after `RearmDelay=`.
    static let treeQuietSeconds: UInt64 = 30
    /// CLOCK_MONOTONIC microseconds when the executable's own code began (nil: unknown), logged with an arming so
    /// the time from the unit's start can be split into process start, configuration and arming.
    private let launchedAt: UInt64?

    init(
        root: HostRoot, journal: any ServiceLog, arming: any Arming, launchedAt: UInt64? = nil,
        clock: @escaping () -> UInt64 = { MonotonicClock.microseconds }
    ) {
        self.launchedAt = launchedAt
        self.clock = clock
        self.root = root
        self.journal = journal
        self.arming = arming
        self.status = ServiceStatus(armed: false, message: "starting", pid: CurrentProcess.id)
    }

    func start() throws { reload(reason: "start") }

    /// Disarms, unless nothing was armed; the status says which.
    func stop(waitingUpTo seconds: Double) -> Bool {
        if armedConfiguration == nil && !((try? CrashReservation.isLoaded(root: root)) ?? false) {
            status.armed = false
            status.message = "stopped; nothing was armed"
            writeStatus()
            return true
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
        return true
    }

    /// Reads the configuration and arms with it; a broken configuration keeps the last good one.
    func reload(reason: String) {
        let merged = MergedConfiguration.load(root: root)
        for diagnostic in merged.diagnostics {
            journal.log(
                diagnostic.severity == .error ? .error : .warning, "configuration: \(diagnostic)",
                fields: [("CONFIG_FILE", diagnostic.origin.file), ("CONFIG_LINE", String(diagnostic.origin.line))])
        }
        status.configErrors = merged.errors.map(\.description)
        if !merged.isValid {
            if let armedConfiguration {
                journal.log(
                    .error,
                    "configuration has \(merged.errors.count) error(s); keeping the last good configuration armed")
                status.message = "armed with the last good configuration; fix \(merged.errors[0].origin)"
                writeStatus()
                armed(armedConfiguration)
                return
            }
            // First start with a broken file: the bad assignments were skipped, so arm with the rest
            // rather than leave the machine without a capture kernel.
            journal.log(
                .error, "configuration has \(merged.errors.count) error(s); arming with the valid settings and defaults"
            )
        }
        let configuration = OopsConfiguration(merged)
        arm(configuration, reason: reason)
        armed(armedConfiguration ?? configuration)
    }

    /// Re-arms once things have been quiet for `RearmDelay=` from now, or for `treeQuietSeconds` when `tree` (the
    /// change was in the kernel's or the modules' tree): each change moves the re-arm later, so a burst of changes
    /// arms once, after its last change. A re-arm never comes sooner than one already scheduled: a configuration
    /// change in the middle of a package's burst waits for the burst, and is armed with it.
    func schedule(reason: String, tree: Bool = false) {
        var delay = (armedConfiguration?.service.rearmDelay ?? TimeSpan(seconds: 2)).microseconds
        if tree { delay = max(delay, Self.treeQuietSeconds * 1_000_000) }
        let (deadline, overflow) = clock().addingReportingOverflow(delay)
        let wanted = overflow ? UInt64.max : deadline
        if let rearmDeadline, rearmDeadline > wanted { return }
        rearmDeadline = wanted
        rearmReason = reason
    }

    /// How long the service may wait for events before a scheduled re-arm is due, at most `limit`.
    func wait(atMost limit: UInt64) -> UInt64 {
        guard let rearmDeadline else { return limit }
        let now = clock()
        return min(limit, rearmDeadline > now ? rearmDeadline - now : 0)
    }

    /// Re-arms when the scheduled time has come; returns whether it did. A change while it re-arms is read by the
    /// next wait (inotify keeps it) and schedules the next re-arm.
    @discardableResult
    func rearmIfDue() -> Bool {
        guard let deadline = rearmDeadline, clock() >= deadline else { return false }
        rearmDeadline = nil
        reload(reason: rearmReason)
        return true
    }

    /// The files and directories whose change means re-arming: the configuration's, and those of what is armed.
    var watchedPaths: [String] {
        var paths = ConfigSources.watchedDirectories
        if let armedConfiguration { paths += arming.watchedPaths(armedConfiguration) }
        return paths
    }

    private func arm(_ configuration: OopsConfiguration, reason: String) {
        // Said before anything is built or loaded: loading a new capture kernel unloads the old one first (the kernel
        // frees it inside kexec_file_load), and `oopsctl status` must read that moment as a re-arm.
        status.arming = reason
        writeStatus()
        defer {
            status.arming = nil
            writeStatus()
        }
        let armStarted = MonotonicClock.microseconds
        do {
            let outcome = try arming.arm(configuration)
            armedConfiguration = configuration
            status.record(outcome)
            status.message =
                status.configErrors.isEmpty
                ? "armed: \(outcome.kernelRelease), initramfs \(outcome.image.bytes / 1024) KiB, "
                    + outcome.destination(networkTarget: configuration.capture.target)
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
                    ("OOPSD_INITRAMFS_PHASES", outcome.imagePhases),
                    ("OOPSD_ARM_STARTED_USEC", String(armStarted)),
                    ("OOPSD_LAUNCHED_USEC", launchedAt.map { String($0) } ?? ""),
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
    }

    private func writeStatus() {
        status.pid = CurrentProcess.id
        status.sequence = (status.sequence ?? 0) &+ 1
        do { try status.write(root: root) } catch {
            journal.log(.warning, "cannot write \(ServiceStatus.path): \(error)")
        }
    }
}
