import DumpFormat
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The capture's log: each line goes to standard error at once (the console, in the capture kernel)
/// and is kept for `capture.log` in the dump.
public final class CaptureLog: @unchecked Sendable {
    /// The lines so far, with seconds since the capture started.
    public private(set) var lines: [String] = []
    private let start = CaptureClock.monotonicNanoseconds()

    public init() {}

    /// Logs one line.
    public func callAsFunction(_ message: String) {
        let elapsed = (CaptureClock.monotonicNanoseconds() - start) / 1_000_000
        let millis = String(elapsed % 1000)
        let line = "[\(elapsed / 1000).\(String(repeating: "0", count: 3 - millis.count))\(millis)] \(message)"
        lines.append(line)
        let console = Array("oopsd-capture: \(message)\n".utf8)
        // Sound because write(2) reads at most the borrowed bytes' count.
        unsafe console.withUnsafeBytes { raw in _ = unsafe write(2, raw.baseAddress, raw.count) }
    }

    /// The log as the text of `capture.log`.
    public var text: String { lines.map { $0 + "\n" }.joined() }

    /// Writes `capture.log` into `directory` (0600, synced); failures are only logged.
    public func save(into directory: String) {
        let path = Path.join(directory, DumpLayout.captureLog)
        do {
            try FileSystem.writeAtomically(path, Array(text.utf8), mode: 0o600)
        } catch {
            self("cannot write \(path): \(error)")
        }
    }
}
