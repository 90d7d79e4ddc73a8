import SystemCalls

/// The cache of built capture initramfs images (`/var/lib/oopsd`): the image, `initramfs-<key>.img` (key: the
/// SHA-256 of the archive), and next to it `inputs-<fingerprint>`, a small record naming the image that the
/// inputs with that fingerprint produced (`CaptureImageContents.fingerprint`) and its sizes. A warm arm
/// finds the record and uses the image without reading or hashing the files that went into it.
///
/// Only the newest image and record are kept: a loaded capture kernel has its own copy in the reservation.
struct CaptureImageCache {
    /// What a record holds.
    struct Entry: Equatable {
        /// The archive's SHA-256, hex: the image's name.
        var key: String
        /// Bytes of the image file.
        var compressedSize: UInt64
        /// Bytes of the uncompressed archive.
        var archiveSize: UInt64
        /// Bytes of file contents once unpacked.
        var unpackedSize: UInt64
    }

    /// The cache directory as a host path (already under the root).
    var directory: String

    static func imageName(key: String) -> String { "initramfs-\(key).img" }

    static func recordName(fingerprint: String) -> String { "inputs-\(fingerprint)" }

    /// The entry recorded for `fingerprint`, if its image is still there with the recorded size; nil for a
    /// missing, unreadable or malformed record (the image is then built again, never trusted blindly).
    func lookup(fingerprint: String) -> Entry? {
        let path = Path.join(directory, Self.recordName(fingerprint: fingerprint))
        guard let text = try? FileSystem.readText(path) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, fields[String(parts[0])] == nil else { return nil }
            fields[String(parts[0])] = String(parts[1])
        }
        guard fields.count == 4, let key = fields["key"], key.count == 64,
            key.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            let compressed = fields["compressed"].flatMap({ UInt64($0) }),
            let archive = fields["archive"].flatMap({ UInt64($0) }),
            let unpacked = fields["unpacked"].flatMap({ UInt64($0) })
        else { return nil }
        let image = Path.join(directory, Self.imageName(key: key))
        guard let status = try? FileSystem.status(image, followLinks: false), status.kind == .regular,
            status.size == compressed
        else { return nil }
        return Entry(key: key, compressedSize: compressed, archiveSize: archive, unpackedSize: unpacked)
    }

    /// Records `entry` for `fingerprint` and removes every other image and record.
    func record(_ entry: Entry, fingerprint: String) throws(InitramfsError) {
        let recordName = Self.recordName(fingerprint: fingerprint)
        let text =
            "key \(entry.key)\ncompressed \(entry.compressedSize)\narchive \(entry.archiveSize)\n"
            + "unpacked \(entry.unpackedSize)\n"
        do {
            try FileSystem.writeAtomically(Path.join(directory, recordName), Array(text.utf8), mode: 0o600)
            let imageName = Self.imageName(key: entry.key)
            for name in try FileSystem.listDirectory(directory) where name != imageName && name != recordName {
                let isImage = name.hasPrefix("initramfs-") && name.hasSuffix(".img")
                if isImage || name.hasPrefix("inputs-") { try FileSystem.remove(Path.join(directory, name)) }
            }
        } catch { throw .file(doing: "recording the cached initramfs", cause: SystemError(caught: error)) }
    }
}
