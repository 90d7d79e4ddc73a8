import Collection
import DumpFormat
import OopsConfig
import RemoteStorage
import SystemCalls

/// How the service learns of the dumps the capture kernel sent straight to `[Capture] Target=`: they never touched
/// this machine's disk (on a diskless machine there is none), so at collection the service asks the target (S3 or
/// SFTP alike, through `CaptureStore`: S3 lists the machine's keys at once, SFTP its directory, then each dump's). A dump
/// of this machine there with a manifest (it arrived whole) and no `report.json` (no service has collected it yet)
/// gets a local record, `<Directory>/<id>/` with its small files (`dmesg.txt`, `metadata.json`, `capture.log`), its
/// manifest and an `upload-state.json` saying it is shipped to the target; collection then reports and announces it
/// like any dump, and `sendReports` stores the report beside it, which marks it collected for every later boot
/// (also on a machine whose dump directory does not survive a reboot). The vmcore stays in the target.
public struct NetworkCaptureRecords {
    /// The largest small file a record copies (a kernel log of `log_buf_len=` 4M and more is still far below).
    public static let smallFileLimit = 16 << 20
    /// The files a record copies, when the manifest lists them.
    public static let copiedFiles = [DumpLayout.dmesg, DumpLayout.metadata, DumpLayout.captureLog]

    public var root: HostRoot
    public var configuration: OopsConfiguration
    public var environment: [String: String]
    public var log: (UploadLogLevel, String) -> Void

    public init(
        root: HostRoot, configuration: OopsConfiguration, environment: [String: String],
        log: @escaping (UploadLogLevel, String) -> Void
    ) {
        self.root = root
        self.configuration = configuration
        self.environment = environment
        self.log = log
    }

    /// The dumps of this machine in the target that no service has collected: made into local records where they
    /// have none; their IDs, for `sendReports` once collection wrote the reports. Empty without `Target=`.
    public func recordNew() -> [String] {
        guard let remote = remote() else { return [] }
        return recordNew(in: remote)
    }

    /// Where the capture kernel sent this machine's dumps: the target, its client, and the machine's directory there.
    typealias Remote = (target: UploadTarget, store: any CaptureStore, directory: String)

    /// `recordNew()` with the target given.
    func recordNew(in remote: Remote) -> [String] {
        let (target, store, directory) = remote
        let local = root.path(configuration.capture.directory)
        let listed: [StoredFile]
        do { listed = try store.files(below: directory, entering: Self.isDumpID) } catch {
            log(.error, "cannot ask \(target.name) for the dumps the capture kernel sent: \(error)")
            return []
        }
        var dumps: [String: [String: StoredFile]] = [:]
        for file in listed {
            let parts = file.path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, Self.isDumpID(String(parts[0])) else { continue }
            dumps[String(parts[0]), default: [:]][String(parts[1])] = file
        }
        var pending: [String] = []
        for (id, files) in dumps.sorted(by: { $0.key < $1.key }) {
            guard let manifest = files[DumpShipper.manifestName], files[DumpLayout.reportJSON] == nil else { continue }
            pending.append(id)
            if FileSystem.exists(Path.join(local, id)) { continue }
            do {
                try record(
                    id, manifest: manifest, store: store, remote: directory + "/" + id, target: target, in: local)
            } catch {
                pending.removeLast()
                log(.error, "dump \(id) in \(target.name), sent by the capture kernel, not recorded: \(error)")
            }
        }
        log(
            .info,
            "asked \(target.name): \(dumps.count) dump(s) of this machine there, \(pending.count) not yet collected")
        return pending
    }

    /// Stores `report.txt`, then `report.json` (which marks the dump collected) beside each dump of `ids` that has
    /// a local report now.
    public func sendReports(_ ids: [String]) {
        guard !ids.isEmpty, let remote = remote() else { return }
        sendReports(ids, to: remote)
    }

    /// `sendReports(_:)` with the target given.
    func sendReports(_ ids: [String], to remote: Remote) {
        let (target, store, directory) = remote
        let local = root.path(configuration.capture.directory)
        for id in ids {
            let dump = Path.join(local, id)
            guard FileSystem.exists(Path.join(dump, DumpLayout.reportJSON)) else { continue }
            do {
                for name in [DumpLayout.reportText, DumpLayout.reportJSON] {
                    let bytes: [UInt8]
                    do {
                        bytes = try FileSystem.readRegularFile(Path.join(dump, name), limit: Self.smallFileLimit)
                    } catch {
                        throw UploadError.file(doing: "reading \(name) of \(id)", cause: SystemError(caught: error))
                    }
                    try store.write(directory + "/" + id + "/" + name, bytes)
                }
                log(.notice, "dump \(id): its report is stored beside it in \(target.name)")
            } catch {
                log(
                    .error,
                    "dump \(id): cannot store its report in \(target.name), the next start tries again: \(error)")
            }
        }
    }

    /// The target `Target=` names, its client and this machine's directory there (S3: `PREFIX/<machine-id>`; SFTP:
    /// `<machine-id>` below the URL's directory); nil (logged) when there is none or it is unusable.
    private func remote() -> Remote? {
        let wanted = configuration.capture.target
        guard !wanted.isEmpty, let configured = configuration.upload.targets.first(where: { $0.url == wanted }) else {
            return nil
        }
        do {
            let target = try UploadTarget.check(configured, root: root)
            let machineID = try MachineID.read(root: root)
            switch target.location {
            case .s3(let location):
                let credentials = try S3Credentials.load(location.credentials, environment: environment)
                let client = S3Client(target: target.name, location: location, credentials: credentials)
                return (target, client, [location.prefix, machineID].filter { !$0.isEmpty }.joined(separator: "/"))
            case .sftp(let location):
                // One SSH login for the listings and reads (or the writes) rather than one for each.
                return (target, SFTPClient(target: target.name, location: location, session: CurlSession()), machineID)
            }
        } catch {
            log(.error, "cannot look for the dumps the capture kernel sent to \(wanted): \(error)")
            return nil
        }
    }

    /// Fetches the manifest and the small files of dump `id`, checks each against the manifest, and renames the
    /// finished record into place (a record cut short is a hidden directory, replaced at the next try).
    private func record(
        _ id: String, manifest: StoredFile, store: any CaptureStore, remote: String, target: UploadTarget,
        in local: String
    ) throws {
        let manifestBytes = try store.read(remote + "/" + DumpShipper.manifestName, limit: 1 << 20)
        let listed = try Self.manifestFiles(
            manifestBytes, path: "\(target.name): \(remote)/\(DumpShipper.manifestName)")
        let scratch = Path.join(local, ".record-" + id)
        try? FileSystem.removeTree(scratch)
        try FileSystem.makeDirectory(scratch, mode: 0o700, parents: true)
        for file in listed where Self.copiedFiles.contains(file.name) {
            guard file.size <= UInt64(Self.smallFileLimit) else {
                throw UploadError.localFile(
                    path: remote + "/" + file.name, message: "\(file.size) bytes is not a small file")
            }
            let bytes = try store.read(remote + "/" + file.name, limit: Self.smallFileLimit)
            guard UInt64(bytes.count) == file.size, FileDigest.sha256(bytes) == file.sha256 else {
                throw UploadError.protocolViolation(
                    target: target.name, url: store.url(of: remote + "/" + file.name),
                    message: "\(bytes.count) bytes that do not match the manifest's \(file.size) and SHA-256")
            }
            try FileSystem.writeAtomically(Path.join(scratch, file.name), bytes, mode: 0o600)
        }
        try FileSystem.writeAtomically(Path.join(scratch, DumpLayout.networkManifest), manifestBytes, mode: 0o600)
        let total = listed.reduce(UInt64(0)) { $0 + $1.size }
        let state = UploadState(targets: [
            target.name: UploadState.Target(
                shipped: true, url: target.url, bytesSent: total, bytesTotal: total, updated: UTCTime.nowISO8601(),
                shippedAt: manifest.modified.isEmpty ? nil : manifest.modified)
        ])
        try state.write(dump: scratch)
        try FileSystem.rename(scratch, to: Path.join(local, id))
        log(
            .notice,
            "dump \(id) was sent to \(target.name) by the capture kernel (\(total) bytes): recorded in "
                + "\(Path.join(configuration.capture.directory, id)), its memory stays in \(target.url)")
    }

    /// The files a manifest lists; errors name the manifest.
    static func manifestFiles(
        _ bytes: [UInt8], path: String
    ) throws(DumpFileError) -> [(name: String, size: UInt64, sha256: String)] {
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch {
            throw .malformed(path: path, reason: "not valid JSON (\(error))")
        }
        guard let files = json["files"]?.arrayValues else {
            throw .malformed(path: path, reason: "expected an object with a \"files\" array")
        }
        var listed: [(name: String, size: UInt64, sha256: String)] = []
        for file in files {
            guard let name = file["name"]?.stringValue, !name.isEmpty, !name.contains("/"), !name.hasPrefix("."),
                let size = file["size"]?.int64Value.flatMap({ UInt64(exactly: $0) }),
                let sha256 = file["sha256"]?.stringValue, sha256.count == 64
            else { throw .malformed(path: path, reason: "a file without a plain name, a size or a SHA-256") }
            listed.append((name, size, sha256))
        }
        return listed
    }

    /// Whether `name` is a dump ID as `DumpName` makes them (a path component that cannot escape the directory).
    static func isDumpID(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.hasSuffix(DumpLayout.incompleteSuffix)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}
