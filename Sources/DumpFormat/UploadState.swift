import SystemCalls

/// `<dump>/upload-state.json`: per upload target whether the dump is shipped, how far it got and the last error.
/// Written by the uploader; read by retention (`isShipped`), `oopsctl list` and the metrics. The one schema of
/// the file, with its one reader (`init(json:path:)`, `read(dump:)`) and its one writer (`bytes`, `write(dump:)`).
///
/// The file is pretty-printed with sorted keys and `"key" : value`, the bytes Foundation's `JSONEncoder` wrote
/// before this schema existed; optional fields are left out when nil.
public struct UploadState: Equatable, Sendable {
    /// One target's line.
    public struct Target: Encodable, Equatable, Sendable {
        public var shipped: Bool
        public var url: String
        public var bytesSent: UInt64
        public var bytesTotal: UInt64
        /// The error of the last attempt (nil once shipped or while it goes well).
        public var error: String?
        /// When this line last changed (ISO 8601, UTC).
        public var updated: String
        /// When the manifest was stored (ISO 8601, UTC).
        public var shippedAt: String?

        public init(
            shipped: Bool = false, url: String = "", bytesSent: UInt64 = 0, bytesTotal: UInt64 = 0,
            error: String? = nil, updated: String = "", shippedAt: String? = nil
        ) {
            self.shipped = shipped
            self.url = url
            self.bytesSent = bytesSent
            self.bytesTotal = bytesTotal
            self.error = error
            self.updated = updated
            self.shippedAt = shippedAt
        }

        /// The keys of a line: each spelled here only (also used by `oopsctl list --json`).
        public enum CodingKeys: String, CodingKey {
            case shipped, url, error, updated
            case bytesSent = "bytes_sent"
            case bytesTotal = "bytes_total"
            case shippedAt = "shipped_at"
        }

        /// The line as a JSON object, keys sorted, nil fields left out.
        var json: JSONValue {
            let members: [(CodingKeys, JSONValue?)] = [
                (.bytesSent, .int(Int64(clamping: bytesSent))), (.bytesTotal, .int(Int64(clamping: bytesTotal))),
                (.error, error.map { .string($0) }), (.shipped, .bool(shipped)),
                (.shippedAt, shippedAt.map { .string($0) }), (.updated, .string(updated)), (.url, .string(url)),
            ]
            return .object(members.compactMap { key, value in value.map { (key.rawValue, $0) } })
        }

        /// Reads one line; nil unless it is an object. A missing field or one of the wrong type takes its
        /// default (not shipped, nothing sent).
        init?(json: JSONValue) {
            guard json.objectMembers != nil else { return nil }
            func value(_ key: CodingKeys) -> JSONValue? { json[key.rawValue] }
            func count(_ key: CodingKeys) -> UInt64 { value(key)?.int64Value.flatMap { UInt64(exactly: $0) } ?? 0 }
            self.init(
                shipped: value(.shipped)?.boolValue ?? false, url: value(.url)?.stringValue ?? "",
                bytesSent: count(.bytesSent), bytesTotal: count(.bytesTotal), error: value(.error)?.stringValue,
                updated: value(.updated)?.stringValue ?? "", shippedAt: value(.shippedAt)?.stringValue)
        }
    }

    /// The top-level key holding the lines.
    public static let targetsKey = "targets"

    /// The lines by target name (`[Upload.NAME]`).
    public var targets: [String: Target]

    public init(targets: [String: Target] = [:]) { self.targets = targets }

    /// True when no target is asked for, or when every target in `names` is shipped.
    public func isShipped(to names: [String]) -> Bool {
        names.allSatisfy { targets[$0]?.shipped == true }
    }

    // MARK: Writer

    /// The file's bytes.
    public var bytes: [UInt8] {
        let lines = targets.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) }
        return Array(
            JSONValue.object([(UploadState.targetsKey, .object(lines))]).serialized(spaceBeforeColon: true).utf8)
    }

    /// Writes the state of the dump in `directory` atomically.
    public func write(dump directory: String) throws {
        try FileSystem.writeAtomically(Path.join(directory, DumpLayout.uploadState), bytes)
    }

    // MARK: Reader

    /// Parses the bytes of an upload-state.json file; lines that are not well-formed are left out.
    public init(json bytes: [UInt8], path: String) throws(DumpFileError) {
        let object: JSONValue
        do {
            object = try JSONValue.parse(bytes)
        } catch {
            throw .malformed(path: path, reason: "not valid JSON (\(error))")
        }
        guard let lines = object[UploadState.targetsKey]?.objectMembers else {
            throw .malformed(path: path, reason: "expected an object with a \"\(UploadState.targetsKey)\" object")
        }
        var targets: [String: Target] = [:]
        for (name, line) in lines { targets[name] = Target(json: line) }
        self.init(targets: targets)
    }

    /// The state of the dump in `directory`; empty when there is none or it cannot be read.
    public static func read(dump directory: String) -> UploadState {
        let path = Path.join(directory, DumpLayout.uploadState)
        guard let bytes = try? FileSystem.readRegularFile(path, limit: 1 << 20),
            let state = try? UploadState(json: bytes, path: path)
        else { return UploadState() }
        return state
    }
}
