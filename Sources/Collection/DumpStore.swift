import DumpFormat
import FoundationEssentials
import SystemCalls

/// One dump directory under the dump directory (`<Directory>/<UTC time>-<boot id prefix>/`, or with the
/// `.incomplete` suffix `oopsd-capture` leaves on a capture that did not finish).
public struct DumpEntry: Sendable {
    /// The directory name: the dump's ID.
    public var id: String
    /// The directory's full path.
    public var path: String
    /// metadata.json, when present and readable.
    public var metadata: DumpMetadata?
    /// Why metadata.json could not be read (nil when it was read or is absent).
    public var metadataProblem: String?
    /// Sum of the apparent sizes of the regular files in the directory.
    public var apparentBytes: UInt64
    /// Sum of the disk space the files use (sparse vmcores use less than their apparent size).
    public var allocatedBytes: UInt64
    /// The directory's modification time (seconds since the epoch), the fallback crash time.
    public var modificationTime: Int64

    /// The path of `name` inside the dump.
    public func file(_ name: String) -> String { Path.join(path, name) }

    /// False when the metadata says `incomplete`, the name has the `.incomplete` suffix, or there is no metadata.
    public var isComplete: Bool {
        !id.hasSuffix(DumpLayout.incompleteSuffix) && metadata?.isComplete == true
    }

    /// The file holding the dump's memory: `vmcore` (ELF), else `vmcore.kdump`; nil when there is neither.
    public var memoryFile: String? {
        DumpLayout.memoryFiles.map(file).first { FileManager.default.fileExists(atPath: $0) }
    }

    /// When the crash happened: metadata's `crash_time`, else the directory's modification time.
    public var crashTime: Int64 { metadata?.crashTime ?? modificationTime }
}

/// The dump directory: lists dumps oldest first and resolves IDs.
public struct DumpStore: Sendable {
    /// The directory holding the dumps (`[Capture] Directory=` under the host root).
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// Every dump, oldest first (by crash time, then name).
    public func list() throws -> [DumpEntry] {
        let names: [String]
        do {
            names = try FileSystem.listDirectory(directory)
        } catch let error as SystemError {
            throw CollectionError.directoryUnreadable(path: directory, reason: error.description)
        }
        var entries: [DumpEntry] = []
        for name in names where !name.hasPrefix(".") {
            let path = Path.join(directory, name)
            guard let status = try? FileSystem.status(path, followLinks: false), status.kind == .directory else {
                continue
            }
            var entry = DumpEntry(
                id: name, path: path, metadata: nil, metadataProblem: nil, apparentBytes: 0, allocatedBytes: 0,
                modificationTime: status.modificationSeconds)
            do {
                entry.metadata = try DumpMetadata.read(entry.file(DumpLayout.metadata))
            } catch {
                entry.metadataProblem = "\(error)"
            }
            for file in (try? FileSystem.listDirectory(path)) ?? [] {
                if let fileStatus = try? FileSystem.status(Path.join(path, file), followLinks: false),
                    fileStatus.kind == .regular
                {
                    entry.apparentBytes += fileStatus.size
                    entry.allocatedBytes += fileStatus.allocatedBytes
                }
            }
            entries.append(entry)
        }
        return entries.sorted { ($0.crashTime, $0.id) < ($1.crashTime, $1.id) }
    }

    /// Resolves an ID: a full directory name, a unique prefix of one, or `-1` (newest), `-2` ...
    public func resolve(_ id: String) throws -> DumpEntry {
        try DumpStore.resolve(id, in: list(), directory: directory)
    }

    /// Resolves `id` among `entries` (oldest first).
    public static func resolve(_ id: String, in entries: [DumpEntry], directory: String) throws -> DumpEntry {
        if id.hasPrefix("-"), let back = Int(id.dropFirst()), back > 0 {
            guard back <= entries.count else {
                throw CollectionError.indexOutOfRange(-back, count: entries.count, directory: directory)
            }
            return entries[entries.count - back]
        }
        if let exact = entries.first(where: { $0.id == id }) { return exact }
        let matches = id.isEmpty ? [] : entries.filter { $0.id.hasPrefix(id) }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty { throw CollectionError.unknownID(id, directory: directory) }
        throw CollectionError.ambiguousID(id, candidates: matches.map(\.id))
    }
}
