import FoundationEssentials
import RemoteStorage
import SystemCalls

/// What has reached one target for one dump, kept in `<dump>/.upload/<target>.json` and rewritten (atomically)
/// after every acknowledged part, so a restart or a reboot resumes where the last one stopped.
struct TargetState: Codable, Equatable {
    /// One file of the dump.
    struct FileState: Codable, Equatable {
        var name: String
        var size: UInt64
        /// Modification time (seconds) when hashed: a changed file is hashed and sent again.
        var modified: Int64
        var sha256: String
        var done: Bool = false
        /// S3 multipart upload in progress.
        var uploadID: String?
        /// Acknowledged parts: number -> ETag.
        var parts: [Int: String] = [:]
    }

    /// The URL the state belongs to; another URL starts over.
    var url: String
    /// `PREFIX/<machine-id>/<dump-id>`.
    var remoteDirectory: String
    var partSize: UInt64
    var files: [FileState] = []
    var manifestStored = false

    /// The state file of `target` in `dumpPath`.
    static func path(dump dumpPath: String, target: String) -> String {
        Path.join(Path.join(dumpPath, ".upload"), target + ".json")
    }

    /// Reads the state, nil when there is none (or it is unreadable: starting over is always safe).
    static func read(_ path: String) -> TargetState? {
        guard let bytes = try? FileSystem.readRegularFile(path, limit: 1 << 20) else { return nil }
        return try? JSONDecoder().decode(TargetState.self, from: Data(bytes))
    }

    /// Writes the state atomically.
    func write(_ path: String) throws(UploadError) {
        do {
            try FileSystem.makeDirectory(Path.parent(path), mode: 0o700, parents: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try FileSystem.writeAtomically(path, [UInt8](try encoder.encode(self)), mode: 0o600)
        } catch {
            throw .localFile(path: path, message: "cannot save the upload state: \(error)")
        }
    }
}
