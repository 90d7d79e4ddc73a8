import CShim
import DumpFormat
import OopsConfig
import SystemCalls

#if canImport(Glibc)
import Glibc
#endif

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
        self.status = ServiceStatus(armed: false, message: "starting", pid: getpid())
    }

    /// Runs until SIGTERM or SIGINT; returns the process exit status.
    public func run() -> Int32 {
        let signals = oops_signalfd_for_service()
        guard signals >= 0 else {
            journal.log(
                .critical, "cannot receive signals: \(SystemError("signalfd", errno: oops_errno()))", fields: [])
            return 1
        }
        let watches = oops_inotify_init()
        if watches < 0 {
            journal.log(
                .warning,
                "cannot watch files, changes will need SIGHUP: \(SystemError("inotify_init1", errno: oops_errno()))",
                fields: [])
        }
        let hotplug = arming.hotplugNeedsReload() ? oops_uevent_socket() : -1

        if let dump = ReturnKernelFiles.afterCrash(
            inCommandLine: (try? FileSystem.readText(root.path("/proc/cmdline"))) ?? "")
        {
            journal.log(
                .notice,
                "this boot is the capture kernel's kexec return after a crash (dump \(dump)): arming and collecting",
                fields: [("OOPSD_AFTER_CRASH", dump)])
        }
        reload(reason: "start")
        addWatches(watches)
        ServiceNotifier.ready(status: status.message)
        // Armed first (a crash during collection must still be caught), then the dumps of earlier crashes.
        // Not armed (no reservation, say): still the configured dump directory, upload targets and retention.
        DumpCollector(root: root, log: journal).collect(
            armedConfiguration ?? OopsConfiguration(MergedConfiguration.load(root: root)))
        // Then ship them, in the background: uploads of many GB must not hold up signals or the watchdog.
        uploads.start()

        let watchdog = ServiceNotifier.watchdogInterval
        var nextPing = oops_monotonic_usec()
        let descriptors = [signals, watches, hotplug]
        while true {
            let now = oops_monotonic_usec()
            var wait: UInt64 = 60_000_000
            if watchdog != nil { wait = min(wait, nextPing > now ? nextPing - now : 0) }
            if let rearmDeadline { wait = min(wait, rearmDeadline > now ? rearmDeadline - now : 0) }
            var ready: UInt32 = 0
            let active = descriptors.map { $0 }
            _ = oops_poll_input(active, Int32(active.count), Int32(min(wait / 1000 + 1, 60_000)), &ready)

            if ready & 1 != 0 {
                while true {
                    let signal = oops_signalfd_next(signals)
                    if signal <= 0 { break }
                    if signal == SIGHUP {
                        ServiceNotifier.reloading()
                        reload(reason: "SIGHUP")
                        ServiceNotifier.ready(status: status.message)
                    } else {
                        stop()
                        return 0
                    }
                }
            }
            if ready & 2 != 0 && oops_inotify_drain(watches) > 0 {
                addWatches(watches)  // directories created since may now exist
                schedule(reason: "a watched file changed")
            }
            if ready & 4 != 0 && drainHotplug(hotplug) {
                schedule(reason: "CPU or memory hotplug")
            }
            let later = oops_monotonic_usec()
            if let deadline = rearmDeadline, later >= deadline {
                rearmDeadline = nil
                reload(reason: rearmReason)
                ServiceNotifier.status(status.message)
            }
            if let watchdog, later >= nextPing {
                ServiceNotifier.watchdog()
                nextPing = later &+ watchdog.microseconds / 2  // WATCHDOG_USEC: far from 2^63
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
            let stillArmed = armedConfiguration != nil && ((try? CrashKernelState.loaded(root: root)) ?? false)
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
        if armedConfiguration == nil && !((try? CrashKernelState.loaded(root: root)) ?? false) {
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
        let (deadline, overflow) = oops_monotonic_usec().addingReportingOverflow(delay)
        rearmDeadline = overflow ? .max : deadline
        rearmReason = reason
    }

    private func addWatches(_ fd: Int32) {
        guard fd >= 0 else { return }
        var paths = ConfigSources.watchedDirectories
        if let armedConfiguration { paths += arming.watchedPaths(armedConfiguration) }
        for path in paths where FileSystem.exists(root.path(path)) {
            _ = oops_inotify_watch(fd, root.path(path))
        }
    }

    private func drainHotplug(_ fd: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var relevant = false
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count <= 0 { break }
            let fields = buffer[0..<count].split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if fields.contains("SUBSYSTEM=memory") || fields.contains("SUBSYSTEM=cpu"),
                fields.contains(where: {
                    ["ACTION=add", "ACTION=remove", "ACTION=online", "ACTION=offline"].contains($0)
                })
            {
                relevant = true
            }
        }
        return relevant
    }

    private func writeStatus() {
        status.pid = getpid()
        do { try status.write(root: root) } catch {
            journal.log(.warning, "cannot write \(ServiceStatus.path): \(error)")
        }
    }
}

/// Reads whether a crash kernel is loaded.
enum CrashKernelState {
    static func loaded(root: HostRoot) throws -> Bool {
        String(decoding: try FileSystem.readBytes(root.path("/sys/kernel/kexec_crash_loaded")), as: UTF8.self)
            .hasPrefix("1")
    }
}
