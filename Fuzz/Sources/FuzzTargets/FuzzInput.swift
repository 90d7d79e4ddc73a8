import SystemCalls
import VMCore

#if canImport(Glibc)
import Glibc
#endif

/// What every target does with its input: a file the readers can open (they take descriptors and paths, not
/// buffers), a check that stops the run with a message, and cheap splitting of the input into parts.
enum FuzzInput {
    /// A per-process scratch directory, `$OOPSD_FUZZ_SCRATCH/oopsd-fuzz-PID` (default `/dev/shm`, a tmpfs), made once;
    /// `Fuzz/run` removes its scratch directory at the end.
    static let directory: String = {
        let base = getenv("OOPSD_FUZZ_SCRATCH").map { String(cString: $0) } ?? "/dev/shm"
        let path = "\(base)/oopsd-fuzz-\(getpid())"
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            fatalError("cannot make the scratch directory \(path)")
        }
        return path
    }()

    /// Writes `bytes` to `name` in the scratch directory (replacing it) and returns its path.
    static func file(_ name: String, _ bytes: [UInt8]) -> String {
        let path = directory + "/" + name
        unlink(path)
        do {
            let fd = try FileDescriptor.open(path, [.writeOnly, .create, .truncate], mode: 0o600)
            defer { try? fd.close() }
            try fd.writeAll(bytes)
        } catch {
            fatalError("cannot write the scratch file \(path): \(error)")
        }
        return path
    }

    /// Stops the run (a finding) when `condition` is false.
    static func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() { fatalError("fuzz invariant broken: " + message()) }
    }
}

/// Reads an input front to back as fields of a structure-aware target; past the end every read is zero/empty.
struct FuzzReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: [UInt8] { position < bytes.count ? Array(bytes[position...]) : [] }
    /// How many bytes `remaining` holds, without copying them.
    var remainingCount: Int { max(0, bytes.count - position) }

    mutating func byte() -> UInt8 {
        defer { position += 1 }
        return position < bytes.count ? bytes[position] : 0
    }

    mutating func uint16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }
    mutating func uint32() -> UInt32 { UInt32(uint16()) | UInt32(uint16()) << 16 }

    /// The next `count` bytes (fewer at the end).
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, position + max(0, count))
        defer { position = max(position, end) }
        return position < end ? Array(bytes[position..<end]) : []
    }
}
