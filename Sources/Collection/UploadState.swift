import FoundationEssentials
import SystemCalls

/// Whether a dump reached the configured upload targets, from `<dump>/upload-state.json`:
/// `{"targets": {"<target name>": {"shipped": true, ...}, ...}}` (written by the uploader, fleet issue).
public enum UploadState {
    /// True when no target is configured, or when every target in `targets` has `"shipped": true`.
    /// A missing or unreadable state file means not shipped.
    public static func isShipped(_ entry: DumpEntry, targets: [String]) -> Bool {
        if targets.isEmpty { return true }
        guard let data = FileManager.default.contents(atPath: entry.file(DumpEntry.FileName.uploadState)),
            let object = try? JSONValue.parse([UInt8](data)),
            let states = object["targets"]
        else { return false }
        return targets.allSatisfy { target in states[target]?["shipped"]?.boolValue == true }
    }
}
