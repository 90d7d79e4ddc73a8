import FoundationEssentials
import SystemCalls

/// The fields of a dump's `metadata.json` (written by `oopsd-capture`, schema in `Capture/DumpMetadata.swift`)
/// that collection uses. Unknown keys are ignored; a missing file or key leaves the field nil.
public struct DumpMetadataFile: Sendable {
    /// `status`: `complete` or `incomplete`.
    public var status: String?
    /// `incomplete_reason`.
    public var incompleteReason: String?
    /// `kernel_release`.
    public var kernelRelease: String?
    /// `build_id`.
    public var buildID: String?
    /// `crash_time`: seconds since the epoch.
    public var crashTime: Int64?
    /// `panic_line`.
    public var panicLine: String?
    /// `breadcrumb`: the oopsd module's record of the oops, flattened to `key: value` text (when present).
    public var breadcrumb: [String: String]?

    public init() {}

    /// Parses the bytes of a metadata.json file; `path` names it in errors.
    public init(json bytes: [UInt8], path: String) throws {
        let object: JSONValue
        do {
            object = try JSONValue.parse(bytes)
        } catch {
            throw CollectionError.malformedFile(path: path, reason: "not valid JSON (\(error))")
        }
        guard object.objectMembers != nil else {
            throw CollectionError.malformedFile(path: path, reason: "expected a JSON object at the top level")
        }
        status = object["status"]?.stringValue
        incompleteReason = object["incomplete_reason"]?.stringValue
        kernelRelease = object["kernel_release"]?.stringValue
        buildID = object["build_id"]?.stringValue
        crashTime = object["crash_time"]?.int64Value
        panicLine = object["panic_line"]?.stringValue
        if let crumb = object["breadcrumb"]?.objectMembers {
            var flat: [String: String] = [:]
            for (key, value) in crumb {
                switch value {
                case .string(let text): flat[key] = text
                case .int(let number): flat[key] = String(number)
                case .bool(let flag): flat[key] = flag ? "1" : "0"
                default: flat[key] = value.compact()
                }
            }
            breadcrumb = flat
        }
    }

    /// Reads `path`; nil when the file does not exist.
    public static func read(_ path: String) throws -> DumpMetadataFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CollectionError.fileUnreadable(path: path, reason: "permission denied or not a regular file")
        }
        return try DumpMetadataFile(json: [UInt8](data), path: path)
    }
}
