import DumpFormat
import SystemCalls

/// The capture to the network (`[Capture] Target=s3://...` or `sftp://...`): present when arming froze a network and a target into
/// the initramfs. The dump is saved into RAM only for its small files; the memory streams to the server.
extension CaptureKernelRun {
    /// Where the small files of a network capture are written (the initramfs's own RAM).
    static let networkScratch = "/run/oopsd-dump"

    /// The frozen network, when this initramfs ships to the network; a broken file is logged and means no.
    func frozenNetwork() -> CaptureNetwork? {
        guard FileSystem.exists(CaptureNetwork.pathInInitramfs) else { return nil }
        do {
            return try CaptureNetwork(parsing: try FileSystem.readText(CaptureNetwork.pathInInitramfs))
        } catch {
            log("cannot read \(CaptureNetwork.pathInInitramfs): \(error)")
            return nil
        }
    }

    /// Brings the network up and sends the dump; nil when the server holds all of it with its manifest, else why
    /// not (for the fallback's record).
    func captureToNetwork(_ network: CaptureNetwork, plan: CapturePlan, seconds: UInt64) -> String? {
        let started = CaptureClock.monotonicNanoseconds()
        do {
            _ = try NetworkBringUp.run(network, timeoutSeconds: 30, log: log.callAsFunction)
        } catch {
            return "the network did not come up: \(error)"
        }
        try? FileSystem.makeDirectory(Self.networkScratch, mode: 0o700, parents: true)
        var uploader: CaptureUploader?
        let outcome = capture(into: Self.networkScratch, plan: plan, seconds: seconds) { name in
            uploader = CaptureUploader(dumpID: name)
            return uploader
        }
        guard let uploader, let directory = outcome.directory else { return "the dump directory was not created" }
        if let reason = outcome.metadata.incompleteReason { return reason }
        // The final metadata and the log replace or join what was sent; the manifest, last, says it is whole.
        log.save(into: directory)
        var files: [CaptureUploader.Stored] = []
        do {
            let memory = (outcome.metadata.format ?? plan.settings.format).streamedFileName
            for name in [DumpLayout.dmesg, DumpLayout.metadata, memory, DumpLayout.captureLog] {
                let path = Path.join(directory, name)
                if name == DumpLayout.metadata || name == DumpLayout.captureLog {
                    files.append(try uploader.store(path, as: name))
                    continue
                }
                let record = try FileSystem.readText(Path.join(directory, CaptureUploader.storedRecord(name)))
                let words = record.split(separator: " ")
                guard words.count == 3, let size = UInt64(words[1]) else {
                    return "the record of \(name) is malformed: \(record)"
                }
                files.append(CaptureUploader.Stored(name: name, size: size, sha256: String(words[2])))
            }
            try uploader.storeManifest(files)
        } catch {
            return "cannot finish the upload: \(error)"
        }
        let elapsed = (CaptureClock.monotonicNanoseconds() - started) / 1_000_000
        let bytes = files.reduce(UInt64(0)) { $0 + $1.size }
        log("dump \(uploader.dumpID) sent whole with its manifest: \(bytes) bytes in \(elapsed) ms")
        return nil
    }
}
