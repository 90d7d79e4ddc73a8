import DumpFormat
import RemoteStorage
import SystemCalls

extension UploadState {
    /// Changes one target's line of `dump`'s upload-state.json, stamps it with the time and writes it atomically.
    static func update(dump path: String, target: String, _ change: (inout Target) -> Void) throws(UploadError) {
        var state = read(dump: path)
        var line = state.targets[target] ?? Target()
        change(&line)
        line.updated = UTCTime.nowISO8601()
        state.targets[target] = line
        do {
            try state.write(dump: path)
        } catch {
            throw .localFile(path: Path.join(path, DumpLayout.uploadState), message: "cannot write: \(error)")
        }
    }
}
