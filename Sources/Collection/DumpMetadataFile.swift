import Foundation

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
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw CollectionError.malformedFile(path: path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw CollectionError.malformedFile(path: path, reason: "expected a JSON object at the top level")
        }
        status = dictionary["status"] as? String
        incompleteReason = dictionary["incomplete_reason"] as? String
        kernelRelease = dictionary["kernel_release"] as? String
        buildID = dictionary["build_id"] as? String
        crashTime = (dictionary["crash_time"] as? NSNumber)?.int64Value
        panicLine = dictionary["panic_line"] as? String
        if let crumb = dictionary["breadcrumb"] as? [String: Any] {
            breadcrumb = crumb.mapValues { value in
                if let text = value as? String { return text }
                if let number = value as? NSNumber { return number.stringValue }
                if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
                    return String(decoding: data, as: UTF8.self)
                }
                return "\(value)"
            }
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
