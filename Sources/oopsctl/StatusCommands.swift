import ArgumentParser
import DumpFormat
import FoundationEssentials
import KernelInterfaces
import OopsConfig
import OopsService
import SystemCalls

/// What `oopsctl status` reports: the service's last record plus live readings.
struct StatusReport: Codable {
    var armed: Bool
    var message: String
    /// Why oopsd is arming right now, when it is.
    var arming: String?
    var reservationBytes: UInt64
    /// Kernel image plus initramfs, the part of the reservation the loaded image occupies.
    var loadedImageBytes: UInt64?
    var kernelImage: String?
    var kernelRelease: String?
    var commandLine: String?
    var initramfs: ServiceStatus.Image?
    var modules: [String]
    var dumpDirectory: String
    var dumpDirectoryFreeBytes: UInt64?
    /// Why the armed capture has no local target (network only); nil when it has one.
    var localTargetMissing: String?
    var lastArmTime: String?
    var lastError: String?
    var configErrors: [String]
    var oopsModuleLoaded: Bool
    var oopsModuleParameters: [String: String]
    var serviceRecorded: Bool
}

/// `oopsctl status`: armed or not and why, what is loaded, the reservation, the dump target.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether a capture kernel is armed, what it uses, and where dumps go.",
        discussion: "Exit status: 0 armed, 3 not armed (like systemctl is-active).")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print the status as JSON.")
    var json = false

    func run() throws {
        let report = Self.collect(root: global.hostRoot)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.render(report), terminator: "")
        }
        if !report.armed { throw ExitCode(3) }
    }

    static func collect(root: HostRoot) -> StatusReport {
        let live = LiveStatus.read(
            record: { try? ServiceStatus.read(root: root) },
            loaded: { (try? CrashReservation.isLoaded(root: root)) ?? false })
        let recorded = live.recorded
        let loaded = live.loaded
        let configuration = OopsConfiguration(MergedConfiguration.load(root: root))
        let reservation = try? CrashReservation.read(root: root)
        let message = live.message(reserved: reservation?.isReserved)
        var loadedBytes: UInt64? = nil
        if loaded, let image = recorded?.image, let kernel = recorded?.kernelImage,
            let header = try? BzImageHeader.read(path: root.path(kernel))
        {
            loadedBytes = header.minimumReservation(initramfsBytes: image.bytes)
        }
        let directory = recorded?.dumpDirectory ?? configuration.capture.directory
        var parameters: [String: String] = [:]
        let moduleDirectory = root.path("/sys/module/oopsd/parameters")
        for name in (try? FileSystem.listDirectory(moduleDirectory)) ?? [] {
            let value = (try? FileSystem.readText(Path.join(moduleDirectory, name))) ?? "?"
            parameters[name] = String(
                value.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        }
        return StatusReport(
            armed: loaded, message: message, arming: recorded?.arming, reservationBytes: reservation?.size ?? 0,
            loadedImageBytes: loadedBytes,
            kernelImage: recorded?.kernelImage, kernelRelease: recorded?.kernelRelease,
            commandLine: recorded?.commandLine, initramfs: recorded?.image, modules: recorded?.modules ?? [],
            dumpDirectory: directory, dumpDirectoryFreeBytes: freeBytes(root.path(directory)),
            localTargetMissing: recorded?.localTargetMissing,
            lastArmTime: recorded?.lastArmTime, lastError: recorded?.lastError,
            configErrors: recorded?.configErrors ?? [],
            oopsModuleLoaded: FileSystem.exists(root.path("/sys/module/oopsd")), oopsModuleParameters: parameters,
            serviceRecorded: recorded != nil)
    }

    static func freeBytes(_ path: String) -> UInt64? {
        (try? FileSystemSpace.of(path))?.available
    }

    static func render(_ report: StatusReport) -> String {
        var rows: [(String, String)] = []
        rows.append(("State", report.armed ? "armed" : "NOT ARMED"))
        rows.append(("Why", report.message))
        var reservation = report.reservationBytes == 0 ? "none" : ByteSize.format(report.reservationBytes)
        if let used = report.loadedImageBytes, report.reservationBytes > 0 {
            reservation += " (loaded image uses \(ByteSize.format(used)), \(used * 100 / report.reservationBytes)%)"
        }
        rows.append(("Reservation", reservation))
        if let kernel = report.kernelImage { rows.append(("Kernel", "\(kernel) (\(report.kernelRelease ?? "?"))")) }
        if let image = report.initramfs {
            rows.append(("Initramfs", "\(image.path)"))
            rows.append(
                (
                    "",
                    "\(ByteSize.format(image.bytes)) compressed, \(ByteSize.format(image.unpackedBytes)) unpacked, built \(image.builtAt)"
                ))
            rows.append(("", "sha256 \(image.sha256)"))
        }
        if let commandLine = report.commandLine { rows.append(("Command line", commandLine)) }
        if !report.modules.isEmpty {
            rows.append(("Modules", report.modules.map { Path.lastComponent($0) }.joined(separator: " ")))
        }
        if let missing = report.localTargetMissing {
            rows.append(("Dump target", "none on this machine, the network only (\(missing))"))
        } else {
            let free = report.dumpDirectoryFreeBytes.map { "\(ByteSize.format($0)) free" } ?? "not reachable"
            rows.append(("Dump target", "\(report.dumpDirectory) (\(free))"))
        }
        rows.append(("Last armed", report.lastArmTime ?? "never"))
        if let error = report.lastError { rows.append(("Last error", error)) }
        for error in report.configErrors { rows.append(("Config error", error)) }
        rows.append(
            (
                "Oops module",
                report.oopsModuleLoaded
                    ? "loaded ("
                        + report.oopsModuleParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                            separator: " ") + ")"
                    : "not loaded"
            ))
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { name, value in
            (name.isEmpty
                ? String(repeating: " ", count: width + 1)
                : name + ":" + String(repeating: " ", count: width - name.count))
                + " " + value
        }.joined(separator: "\n") + "\n"
    }
}

/// `oopsctl estimate`: recommend a crashkernel= value.
struct EstimateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate",
        abstract: "Recommend a crashkernel= reservation and say whether the current one suffices.",
        discussion: "Exit status: 0 when the reservation suffices, 1 when it is missing or too small.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let root = global.hostRoot
        let recorded = try? ServiceStatus.read(root: root)
        let configuration = OopsConfiguration(MergedConfiguration.load(root: root))
        let release = recorded?.kernelRelease ?? (try? KernelRelease.current()) ?? ""
        let kernel =
            recorded?.kernelImage
            ?? (configuration.kernel.image.isEmpty
                ? KernelRelease.defaultImage(release: release, root: root) : configuration.kernel.image)
        guard let header = try? BzImageHeader.read(path: root.path(kernel)) else {
            printError("oopsctl estimate: cannot read the kernel image \(kernel)")
            throw ExitCode(1)
        }
        let peak = Self.measuredPeak(directory: root.path(configuration.capture.directory))
        let estimate = ReservationEstimate(
            kernelImageBytes: UInt64(header.initSize), initramfsBytes: recorded?.image?.bytes ?? 0,
            unpackedBytes: recorded?.image?.unpackedBytes ?? 0, capturePeakBytes: peak)
        let reserved = (try? CrashReservation.read(root: root))?.size ?? 0
        print("kernel image (init_size)  \(ByteSize.format(estimate.kernelImageBytes))  \(kernel)")
        if recorded?.image == nil {
            print("initramfs                 unknown: arm first (oopsctl arm) for an exact figure")
        }
        print("initramfs (compressed)    \(ByteSize.format(estimate.initramfsBytes))")
        print("initramfs (unpacked)      \(ByteSize.format(estimate.unpackedBytes))")
        print("kernel at run time        \(ByteSize.format(ReservationEstimate.kernelRuntime))")
        print(
            "capture peak memory       \(ByteSize.format(estimate.capturePeakBytes)) (\(estimate.capturePeakMeasured ? "measured in the newest dump" : "assumed; no dump has measured it yet"))"
        )
        print("margin                    \(estimate.marginPercent)%")
        print("recommended               \(estimate.recommendedParameter)")
        print(estimate.verdict(reservedBytes: reserved))
        if reserved < estimate.recommendedBytes { throw ExitCode(1) }
    }

    /// The capture's peak memory recorded in the newest dump's metadata (`memory.peak_rss_kib`).
    static func measuredPeak(directory: String) -> UInt64? {
        let names = ((try? FileSystem.listDirectory(directory)) ?? []).sorted().reversed()
        for name in names {
            let path = Path.join(Path.join(directory, name), DumpLayout.metadata)
            guard let metadata = try? DumpMetadata.read(path) else { continue }
            if let kib = metadata.peakResidentKiB, kib >= 0, kib < 1 << 40 { return UInt64(kib) * 1024 }
        }
        return nil
    }
}
