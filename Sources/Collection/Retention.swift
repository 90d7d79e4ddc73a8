import DumpFormat
import OopsConfig
import SystemCalls

/// `[Retention]`: deletes the oldest dumps until at most `MaxDumps` remain, they use at most `MaxUse` and the file
/// system keeps `KeepFree` free (journald's SystemMaxUse=/SystemKeepFree= are the model). A dump not shipped to every
/// configured upload target is kept unless `DeleteUnshipped=yes`. Every deletion (and every refusal) is a log line.
public struct Retention: Sendable {
    /// The limits of `[Retention]`.
    public struct Policy: Equatable, Sendable {
        /// `MaxDumps=` (0: no limit by count).
        public var maxDumps: Int
        /// `MaxUse=`.
        public var maxUse: SizeOrPercent
        /// `KeepFree=`.
        public var keepFree: SizeOrPercent
        /// `DeleteUnshipped=`.
        public var deleteUnshipped: Bool

        public init(maxDumps: Int, maxUse: SizeOrPercent, keepFree: SizeOrPercent, deleteUnshipped: Bool) {
            self.maxDumps = maxDumps
            self.maxUse = maxUse
            self.keepFree = keepFree
            self.deleteUnshipped = deleteUnshipped
        }

        /// The policy of a typed configuration.
        public init(_ configured: OopsConfiguration.Retention) {
            self.init(
                maxDumps: configured.maxDumps, maxUse: configured.maxUse, keepFree: configured.keepFree,
                deleteUnshipped: configured.deleteUnshipped)
        }
    }

    public var policy: Policy
    /// Names of the configured upload targets (none: every dump counts as shipped).
    public var uploadTargets: [String]

    public init(policy: Policy, uploadTargets: [String] = []) {
        self.policy = policy
        self.uploadTargets = uploadTargets
    }

    /// Which limits the dumps break right now (empty: none).
    func brokenLimits(count: Int, used: UInt64, space: FileSystemSpace) -> [String] {
        var broken: [String] = []
        if policy.maxDumps > 0 && count > policy.maxDumps {
            broken.append("\(count) dumps exceed MaxDumps=\(policy.maxDumps)")
        }
        let maxUse = policy.maxUse.resolve(total: space.total)
        if used > maxUse {
            broken.append(
                "dumps use \(ByteCount.text(used)), more than MaxUse=\(policy.maxUse) (\(ByteCount.text(maxUse)))")
        }
        let keepFree = policy.keepFree.resolve(total: space.total)
        if space.available < keepFree {
            broken.append(
                "\(ByteCount.text(space.available)) free, less than KeepFree=\(policy.keepFree) (\(ByteCount.text(keepFree)))"
            )
        }
        return broken
    }

    /// Enforces the policy on `store`, oldest dump first, never the newest; `space` is asked again after each
    /// deletion.
    /// Returns one log line per deleted or protected dump; a failed deletion is a line too, and enforcement stops.
    public func enforce(on store: DumpStore, space: () throws -> FileSystemSpace) throws -> [String] {
        var entries = try store.list()
        var log: [String] = []
        var index = 0
        while index < entries.count {
            let used = entries.reduce(0) { $0 + $1.allocatedBytes }
            let broken = brokenLimits(count: entries.count, used: used, space: try space())
            if broken.isEmpty { break }
            let entry = entries[index]
            let reason = broken.joined(separator: "; ")
            // The newest dump is the evidence of the latest crash: never deleted to make room.
            if index == entries.count - 1 {
                log.append("kept \(entry.path): it is the newest dump, although \(reason)")
                break
            }
            if !policy.deleteUnshipped && !UploadState.read(dump: entry.path).isShipped(to: uploadTargets) {
                log.append(
                    "kept \(entry.path): not yet shipped to \(uploadTargets.joined(separator: ", ")) "
                        + "and DeleteUnshipped=no, although \(reason)")
                index += 1
                continue
            }
            do {
                try FileSystem.removeTree(entry.path)
            } catch {
                log.append("failed to delete \(entry.path): \(error)")
                break
            }
            log.append(
                "deleted \(entry.path) (\(ByteCount.text(entry.allocatedBytes)) on disk, crashed "
                    + "\(ReportBuilder.utcText(entry.crashTime))): \(reason)")
            entries.remove(at: index)
        }
        return log
    }

    /// Enforces the policy using the real free space of the dump directory's file system.
    public func enforce(on store: DumpStore) throws -> [String] {
        try enforce(on: store) { try FileSystemSpace.of(store.directory) }
    }
}
