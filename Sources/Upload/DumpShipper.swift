import Collection
import DumpFormat
import RemoteStorage
import Synchronization
import SystemCalls

/// How much of a dump has reached a target, for progress bars.
public struct ShipProgress: Sendable {
    public var target: String
    public var dumpID: String
    public var file: String
    public var sent: UInt64
    public var total: UInt64
}

/// How loud an upload log line is.
public enum UploadLogLevel: Sendable {
    case info, notice, warning, error
}

/// Ships one dump to one target: `dmesg.txt`, `metadata.json`, `report.json` first, then the other files by size,
/// each large file as a multipart upload whose acknowledged parts are remembered, then `manifest.json` last.
public struct DumpShipper {
    public var target: UploadTarget
    public var machineID: String
    /// Tries per request (see `Backoff`).
    public var attempts: Int
    /// For `$CREDENTIALS_DIRECTORY`.
    public var environment: [String: String]
    public var log: (UploadLogLevel, String) -> Void
    public var progress: (ShipProgress) -> Void
    /// Asked by the service's shutdown: no new part or file starts once it is requested.
    public var stop = UploadStop()

    public init(
        target: UploadTarget, machineID: String, attempts: Int, environment: [String: String],
        log: @escaping (UploadLogLevel, String) -> Void, progress: @escaping (ShipProgress) -> Void = { _ in }
    ) {
        self.target = target
        self.machineID = machineID
        self.attempts = attempts
        self.environment = environment
        self.log = log
        self.progress = progress
    }

    /// The files shipped first, in this order: small and the most useful.
    public static let firstFiles = [DumpLayout.dmesg, DumpLayout.metadata, DumpLayout.reportJSON]
    /// How many parts of one multipart upload are in flight at once: enough to hide the server's per-part
    /// latency, few enough that a fleet rebooting together does not open dozens of connections per machine.
    public static let parallelParts = 4
    /// Files this large are hashed while they upload rather than before.
    public static let backgroundHashSize: UInt64 = 16 << 20
    /// The name of the manifest, written last.
    public static let manifestName = "manifest.json"

    /// The remote directory of `dumpID`: `PREFIX/<machine-id>/<dump-id>`.
    public func remoteDirectory(_ dumpID: String) -> String {
        let prefix: String
        switch target.location {
        case .s3(let s3): prefix = s3.prefix
        case .sftp: prefix = ""
        }
        return ([prefix, machineID, dumpID].filter { !$0.isEmpty }).joined(separator: "/")
    }

    /// The files of `entry` to ship, in shipping order: first files, then by size (ties by name).
    static func plan(_ entry: DumpEntry) throws(UploadError) -> [(name: String, size: UInt64, modified: Int64)] {
        let names: [String]
        do { names = try FileSystem.listDirectory(entry.path) } catch {
            throw .file(doing: "listing the dump", cause: SystemError(caught: error))
        }
        var files: [(name: String, size: UInt64, modified: Int64)] = []
        for name in names where !name.hasPrefix(".") && name != DumpLayout.uploadState && name != manifestName {
            guard let status = try? FileSystem.status(entry.file(name), followLinks: false), status.kind == .regular
            else { continue }
            files.append((name, status.size, status.modificationSeconds))
        }
        func rank(_ name: String) -> Int { firstFiles.firstIndex(of: name) ?? firstFiles.count }
        return files.sorted {
            ($0.name == $1.name)
                ? false
                : (rank($0.name), $0.size, $0.name) < (rank($1.name), $1.size, $1.name)
        }
    }

    /// Ships `entry`; returns when the manifest is stored, throws the error that ended the attempt.
    public func ship(_ entry: DumpEntry) throws(UploadError) {
        let statePath = TargetState.path(dump: entry.path, target: target.name)
        let lock = try Self.lock(statePath + ".lock")
        defer { try? lock.close() }
        do {
            try shipLocked(entry, statePath: statePath)
        } catch {
            try? UploadState.update(dump: entry.path, target: target.name) { $0.error = error.description }
            throw error
        }
    }

    private func shipLocked(_ entry: DumpEntry, statePath: String) throws(UploadError) {
        var state = TargetState.read(statePath) ?? TargetState(url: "", remoteDirectory: "", partSize: 0)
        let remote = remoteDirectory(entry.id)
        if state.url != target.url || state.remoteDirectory != remote || state.partSize != target.partSize {
            state = TargetState(url: target.url, remoteDirectory: remote, partSize: target.partSize)
        }
        // Hash what changed since the state was written (normally: everything, once). Files of
        // `backgroundHashSize` or more are hashed on a second thread while the files upload (their hash is needed
        // only by the manifest, which goes last): the upload does not wait for a pass over the vmcore.
        var files: [TargetState.FileState] = []
        var pending: [Int] = []
        for file in try Self.plan(entry) {
            let known = state.files.first {
                $0.name == file.name && $0.size == file.size && $0.modified == file.modified
            }
            if let known, !known.sha256.isEmpty {
                files.append(known)
                continue
            }
            var fresh = known ?? .init(name: file.name, size: file.size, modified: file.modified, sha256: "")
            if file.size >= Self.backgroundHashSize {
                pending.append(files.count)
            } else {
                fresh.sha256 = try FileDigest.sha256(path: entry.file(file.name))
            }
            files.append(fresh)
            state.manifestStored = false
        }
        if files.map(\.name) != state.files.map(\.name) { state.manifestStored = false }
        state.files = files
        try state.write(statePath)
        let total = files.reduce(0) { $0 + $1.size }
        if state.manifestStored && UploadState.read(dump: entry.path).targets[target.name]?.shipped == true { return }
        try UploadState.update(dump: entry.path, target: target.name) {
            $0.shipped = false
            $0.url = target.url
            $0.bytesTotal = total
            $0.error = nil
        }

        let transport = try Transport(target: target, environment: environment)
        var backoff = Backoff(attempts: attempts)
        backoff.onRetry = { attempt, error, wait in
            log(
                .warning,
                "\(error); try \(attempt + 1) of \(attempts) in \(Int(wait * 10) / 10 == 0 ? "<1" : "\(Int(wait))")s")
        }
        // Worker 0 (this thread) uploads, worker 1 hashes; each writes only its own variables until both are joined.
        var hashes: [Int: String] = [:]
        var hashFailure: UploadError?
        var uploadFailure: UploadError?
        let paths = pending.map { entry.file(files[$0].name) }
        ParallelWorkers.run(count: pending.isEmpty ? 1 : 2) { worker in
            if worker == 1 {
                for (index, path) in zip(pending, paths) where hashFailure == nil {
                    do throws(UploadError) {
                        hashes[index] = try FileDigest.sha256(path: path)
                    } catch {
                        hashFailure = error
                    }
                }
                return
            }
            do throws(UploadError) {
                try uploadFiles(
                    entry, state: &state, statePath: statePath, transport: transport, backoff: backoff, total: total)
            } catch { uploadFailure = error }
        }
        // A hash taken is kept for the next attempt even when this one failed.
        for (index, sha) in hashes { state.files[index].sha256 = sha }
        if !hashes.isEmpty { try state.write(statePath) }
        if let uploadFailure { throw uploadFailure }
        if let hashFailure { throw hashFailure }

        let manifest = Manifest(
            machineID: machineID, dumpID: entry.id,
            files: state.files.map { Manifest.File(name: $0.name, size: $0.size, sha256: $0.sha256) })
        let key = remote + "/" + Self.manifestName
        switch transport {
        case .sftp(let client):
            try backoff.run { () throws(UploadError) in try client.put(key, body: .bytes(manifest.encoded())) }
        case .s3(let client):
            _ = try backoff.run { () throws(UploadError) in
                try client.putObject(key: key, body: .bytes(manifest.encoded()))
            }
        }
        state.manifestStored = true
        try state.write(statePath)
        try UploadState.update(dump: entry.path, target: target.name) {
            $0.shipped = true
            $0.bytesSent = total
            $0.error = nil
            $0.shippedAt = UTCTime.nowISO8601()
        }
    }

    /// Sends every file of `entry` that `state` does not mark done, recording progress in `state` and its file.
    private func uploadFiles(
        _ entry: DumpEntry, state: inout TargetState, statePath: String, transport: Transport, backoff: Backoff,
        total: UInt64
    ) throws(UploadError) {
        let remote = remoteDirectory(entry.id)
        var finished: UInt64 = state.files.filter(\.done).reduce(0) { $0 + $1.size }
        for index in state.files.indices where !state.files[index].done {
            if stop.isRequested { throw .stopped(target: target.name) }
            let file = state.files[index]
            let report = { (sent: UInt64) in
                progress(
                    ShipProgress(
                        target: target.name, dumpID: entry.id, file: file.name, sent: finished + sent,
                        total: total))
            }
            let descriptor: FileDescriptor
            do { descriptor = try FileDescriptor.open(entry.file(file.name)) } catch {
                throw .file(doing: "reading the dump for upload", cause: SystemError(caught: error))
            }
            defer { try? descriptor.close() }
            let key = remote + "/" + file.name
            switch transport {
            case .sftp(let client):
                try backoff.run { () throws(UploadError) in
                    try client.put(
                        key, body: .file(descriptor: descriptor, offset: 0, length: file.size),
                        progress: report)
                }
            case .s3(let client) where file.size <= target.partSize:
                _ = try backoff.run { () throws(UploadError) in
                    try client.putObject(
                        key: key, body: .file(descriptor: descriptor, offset: 0, length: file.size),
                        progress: report)
                }
            case .s3(let client):
                try shipMultipart(
                    client, key: key, descriptor: descriptor, state: &state, index: index,
                    statePath: statePath, backoff: backoff, report: report)
            }
            state.files[index].done = true
            state.files[index].uploadID = nil
            state.files[index].parts = [:]
            try state.write(statePath)
            finished += file.size
            report(0)
            try UploadState.update(dump: entry.path, target: target.name) { $0.bytesSent = finished }
        }
    }

    private func shipMultipart(
        _ client: S3Client, key: String, descriptor: FileDescriptor, state: inout TargetState, index: Int,
        statePath: String,
        backoff: Backoff, report: @escaping (UInt64) -> Void
    ) throws(UploadError) {
        let file = state.files[index]
        let partSize = target.partSize
        let count = Int((file.size + partSize - 1) / partSize)
        func size(of number: Int) -> UInt64 { min(partSize, file.size - UInt64(number - 1) * partSize) }
        if let uploadID = file.uploadID {
            // The server is the truth: parts it holds at the right size count, whatever the state file says.
            let stored = try backoff.run { () throws(UploadError) in try client.listParts(key: key, uploadID: uploadID)
            }
            if let stored {
                var parts: [Int: String] = [:]
                for (number, part) in stored where number <= count && part.size == size(of: number) {
                    parts[number] = part.etag
                }
                state.files[index].parts = parts
                log(
                    .info,
                    "\(target.name): resuming \(key) at part \((1...count).first { parts[$0] == nil } ?? count) "
                        + "of \(count): \(parts.count) part\(parts.count == 1 ? "" : "s") already stored")
            } else {
                log(.notice, "\(target.name): the multipart upload of \(key) is gone from the server; starting over")
                state.files[index].uploadID = nil
                state.files[index].parts = [:]
            }
        }
        if state.files[index].uploadID == nil {
            let id = try backoff.run { () throws(UploadError) in try client.createMultipartUpload(key: key) }
            state.files[index].uploadID = id
            state.files[index].parts = [:]
            try state.write(statePath)
        }
        let uploadID = state.files[index].uploadID!
        let missing = (1...count).filter { state.files[index].parts[$0] == nil }
        let workers = min(Self.parallelParts, missing.count)
        // MaxRate= bounds the whole target: each of the parallel transfers gets its share.
        var partClient = client
        if let rate = client.maxRate { partClient.maxRate = max(1, rate / UInt64(max(1, workers))) }
        let alreadyStored = state.files[index].parts.keys.reduce(UInt64(0)) { $0 + size(of: $1) }
        let shared = MultipartRun(state: state, parts: missing, storedBytes: alreadyStored, stop: stop)
        ParallelWorkers.run(count: workers) { _ in
            while let number = shared.next() {
                let offset = UInt64(number - 1) * partSize
                do throws(UploadError) {
                    let etag = try backoff.run { () throws(UploadError) in
                        try partClient.uploadPart(
                            key: key, uploadID: uploadID, number: number,
                            body: .file(descriptor: descriptor, offset: offset, length: size(of: number)),
                            progress: { sent in shared.sending(number, sent: sent, report: report) })
                    }
                    try shared.stored(number, size: size(of: number), etag: etag, index: index, statePath: statePath)
                } catch {
                    shared.failed(error)
                    return
                }
            }
        }
        state = shared.finalState
        if let failure = shared.failure { throw failure }
        if state.files[index].parts.count < count { throw .stopped(target: target.name) }
        let parts = (1...count).map { (number: $0, etag: state.files[index].parts[$0]!) }
        try backoff.run { () throws(UploadError) in
            try client.completeMultipartUpload(key: key, uploadID: uploadID, parts: parts)
        }
    }

    /// Takes `path`'s lock so that `oopsctl upload` and the service never ship the same dump to a target at once.
    static func lock(_ path: String) throws(UploadError) -> FileDescriptor {
        try? FileSystem.makeDirectory(Path.parent(path), mode: 0o700, parents: true)
        let descriptor: FileDescriptor
        let locked: Bool
        do {
            descriptor = try FileDescriptor.open(path, [.readWrite, .create], mode: 0o600)
            do { locked = try descriptor.lockExclusively() } catch {
                try? descriptor.close()
                throw error
            }
        } catch { throw .file(doing: "locking the dump for upload", cause: SystemError(caught: error)) }
        if !locked {
            try? descriptor.close()
            throw .localFile(path: path, message: "another oopsd or oopsctl process is shipping this dump right now")
        }
        return descriptor
    }
}

/// The client of a target's protocol.
enum Transport {
    case s3(S3Client)
    case sftp(SFTPClient)

    init(target: UploadTarget, environment: [String: String]) throws(UploadError) {
        switch target.location {
        case .s3(let location):
            let credentials = try S3Credentials.load(location.credentials, environment: environment)
            self = .s3(
                S3Client(
                    target: target.name, location: location, credentials: credentials,
                    maxRate: target.maxRate))
        case .sftp(let location):
            self = .sftp(SFTPClient(target: target.name, location: location, maxRate: target.maxRate))
        }
    }
}

/// The shared state of one multipart upload's parallel part transfers: which part goes next, the target state
/// with the parts acknowledged so far (written to disk after each), the bytes in flight for progress, and the
/// first failure (after which no new part starts, as after a stop request).
final class MultipartRun: @unchecked Sendable {
    // Sound because every stored property is read and written only inside `lock.withLock`.
    private struct Shared {
        var state: TargetState
        var queue: [Int]
        var nextIndex = 0
        /// Bytes of the parts acknowledged so far, and of each part in flight.
        var storedBytes: UInt64
        var inFlight: [Int: UInt64] = [:]
        var failure: UploadError?
    }
    private let lock: Mutex<Shared>
    private let stop: UploadStop

    init(state: TargetState, parts: [Int], storedBytes: UInt64, stop: UploadStop) {
        lock = Mutex(Shared(state: state, queue: parts, storedBytes: storedBytes))
        self.stop = stop
    }

    /// The next part to send, or nil when all are taken, one failed or a stop was requested (a part boundary).
    func next() -> Int? {
        lock.withLock { shared in
            guard shared.failure == nil, !stop.isRequested, shared.nextIndex < shared.queue.count else { return nil }
            defer { shared.nextIndex += 1 }
            return shared.queue[shared.nextIndex]
        }
    }

    /// Records `sent` bytes of part `number` and reports the file's total (stored parts plus those in flight);
    /// `report` is called under the lock, so progress bars see one caller at a time.
    func sending(_ number: Int, sent: UInt64, report: (UInt64) -> Void) {
        lock.withLock { shared in
            shared.inFlight[number] = sent
            report(shared.storedBytes + shared.inFlight.values.reduce(0, +))
        }
    }

    /// Records part `number`'s ETag and writes the state file, so a restart resumes after it.
    func stored(_ number: Int, size: UInt64, etag: String, index: Int, statePath: String) throws(UploadError) {
        try lock.withLock { (shared: inout Shared) throws(UploadError) in
            shared.inFlight[number] = nil
            shared.storedBytes += size
            shared.state.files[index].parts[number] = etag
            try shared.state.write(statePath)
        }
    }

    /// Keeps the first failure; parts in flight finish, no new one starts.
    func failed(_ error: UploadError) {
        lock.withLock { shared in if shared.failure == nil { shared.failure = error } }
    }

    var failure: UploadError? { lock.withLock { $0.failure } }
    var finalState: TargetState { lock.withLock { $0.state } }
}
