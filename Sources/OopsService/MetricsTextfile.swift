import Collection
import DumpFormat
import FoundationEssentials
import KernelInterfaces
import OopsConfig
import SystemCalls
import Upload

/// The Prometheus textfile (`[Upload] MetricsFile=`) that node_exporter's textfile collector exports: armed state,
/// last arm time and error, reservation against the estimate, dumps pending upload, last upload, last dump.
public struct MetricsTextfile {
    /// One metric's values.
    struct Sample {
        var name: String
        var help: String
        var value: Double
        var labels: [(String, String)] = []
    }

    /// The text for the given state of the machine.
    static func render(_ samples: [Sample]) -> String {
        var out = ""
        var described: Set<String> = []
        for sample in samples {
            if described.insert(sample.name).inserted {
                out += "# HELP \(sample.name) \(sample.help)\n# TYPE \(sample.name) gauge\n"
            }
            let labels =
                sample.labels.isEmpty
                ? ""
                : "{"
                    + sample.labels.map { name, value in
                        let escaped = value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
                            .replacing("\n", with: "\\n")
                        return "\(name)=\"\(escaped)\""
                    }.joined(separator: ",") + "}"
            let number =
                sample.value == sample.value.rounded() && abs(sample.value) < 1e15
                ? String(Int64(sample.value)) : String(sample.value)
            out += "\(sample.name)\(labels) \(number)\n"
        }
        return out
    }

    /// Gathers the samples from the status file, the reservation, the dump directory and its upload states.
    static func samples(root: HostRoot, configuration: OopsConfiguration) -> [Sample] {
        var samples: [Sample] = []
        let status = try? ServiceStatus.read(root: root)
        samples.append(
            Sample(
                name: "oopsd_armed", help: "1 when a capture kernel is loaded.",
                value: status?.armed == true ? 1 : 0))
        if let time = status?.lastArmTime, let seconds = UTCTime.parseISO8601(time) {
            samples.append(
                Sample(
                    name: "oopsd_last_arm_timestamp_seconds", help: "When the capture kernel was last loaded.",
                    value: Double(seconds)))
        }
        samples.append(
            Sample(
                name: "oopsd_arm_error", help: "1 when the last arming failed; the label holds the error.",
                value: status?.lastError == nil ? 0 : 1,
                labels: status?.lastError.map { [("error", String($0.prefix(200)))] } ?? []))
        if let reservation = try? CrashReservation.read(root: root) {
            samples.append(
                Sample(
                    name: "oopsd_crashkernel_reserved_bytes", help: "Memory reserved for the capture kernel.",
                    value: Double(reservation.size)))
        }
        if let kernel = status?.kernelImage, let header = try? BzImageHeader.read(path: root.path(kernel)) {
            let estimate = ReservationEstimate(
                kernelImageBytes: UInt64(header.initSize), initramfsBytes: status?.image?.bytes ?? 0,
                unpackedBytes: status?.image?.unpackedBytes ?? 0, capturePeakBytes: nil)
            samples.append(
                Sample(
                    name: "oopsd_crashkernel_needed_bytes",
                    help: "Estimated memory the capture needs (oopsctl estimate), margin included.",
                    value: Double(estimate.recommendedBytes)))
        }
        let store = DumpStore(directory: root.path(configuration.capture.directory))
        let entries = (try? store.list()) ?? []
        let targets = configuration.upload.targets.map(\.name)
        samples.append(Sample(name: "oopsd_dumps", help: "Dumps in the dump directory.", value: Double(entries.count)))
        let pending = entries.filter { !UploadState.read(dump: $0.path).isShipped(to: targets) }.count
        samples.append(
            Sample(
                name: "oopsd_dumps_pending_upload",
                help: "Dumps not yet shipped to every configured upload target.", value: Double(pending)))
        for target in targets {
            let times = entries.compactMap { UploadState.read(dump: $0.path).targets[target]?.shippedAt }
                .compactMap { UTCTime.parseISO8601($0) }
            if let last = times.max() {
                samples.append(
                    Sample(
                        name: "oopsd_last_upload_success_timestamp_seconds",
                        help: "When a dump was last shipped completely to the target.",
                        value: Double(last), labels: [("target", target)]))
            }
        }
        if let newest = entries.last, let metadata = try? DumpMetadata.read(newest.file(DumpLayout.metadata)) {
            if let duration = metadata.durationMilliseconds.map(Double.init) {
                samples.append(
                    Sample(
                        name: "oopsd_last_dump_capture_duration_seconds",
                        help: "How long the newest dump's capture took.",
                        value: duration / 1000, labels: [("dump", newest.id)]))
            }
            samples.append(
                Sample(
                    name: "oopsd_last_dump_size_bytes", help: "Size of the newest dump's files.",
                    value: Double(newest.apparentBytes), labels: [("dump", newest.id)]))
        }
        return samples
    }

    /// Writes the textfile atomically (node_exporter must never read half a file); nothing when MetricsFile= is empty
    /// or its directory does not exist: the textfile collector's directory comes with node_exporter (or its admin),
    /// and where there is none nobody reads the file (the unit's ProtectSystem=strict would refuse to create it).
    public static func write(root: HostRoot, configuration: OopsConfiguration) throws {
        guard !configuration.upload.metricsFile.isEmpty else { return }
        let path = root.path(configuration.upload.metricsFile)
        guard (try? FileSystem.status(Path.parent(path)))??.kind == .directory else { return }
        try FileSystem.writeAtomically(path, Array(render(samples(root: root, configuration: configuration)).utf8))
    }
}
