import FoundationEssentials

/// `manifest.json`, stored last: every file of the dump with its size and SHA-256. Its presence on the server means
/// the dump arrived whole.
struct Manifest: Codable, Equatable {
    /// One file.
    struct File: Codable, Equatable {
        var name: String
        var size: UInt64
        var sha256: String
    }

    var machineID: String
    var dumpID: String
    var files: [File]

    enum CodingKeys: String, CodingKey {
        case machineID = "machine_id"
        case dumpID = "dump_id"
        case files
    }

    /// The JSON bytes (sorted keys, so the same dump always gives the same manifest).
    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [UInt8]((try? encoder.encode(self)) ?? Data()) + [10]
    }
}
