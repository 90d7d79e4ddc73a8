/// What oopsd tells people about one dump: written as `report.json` (stable keys, snake_case) and `report.txt`.
public struct Report: Codable, Equatable, Sendable {
    /// Version of the report.json schema.
    public static let currentSchemaVersion = 1

    /// The crashing task.
    public struct Task: Codable, Equatable, Sendable {
        public var pid: Int?
        public var command: String?
        public var cpu: Int?
    }

    /// One register of NT_PRSTATUS.
    public struct Register: Codable, Equatable, Sendable {
        public var name: String
        /// `0x` and 16 hex digits.
        public var value: String
    }

    /// A text address found on the crashing task's stack.
    public struct StackFrame: Codable, Equatable, Sendable {
        /// Where on the stack (hex).
        public var stackAddress: String
        /// The return address (hex).
        public var address: String
        /// `function+0xoff/0xsize`.
        public var symbol: String
    }

    public var schemaVersion = Report.currentSchemaVersion
    /// The dump's ID (its directory name).
    public var id: String
    /// The dump directory.
    public var path: String
    /// Whether the capture finished.
    public var complete: Bool
    /// Why not, when the metadata says.
    public var incompleteReason: String?
    /// Apparent size of the dump's files in bytes.
    public var sizeBytes: UInt64
    /// Disk space they use.
    public var diskBytes: UInt64
    public var kernelRelease: String?
    public var buildID: String?
    /// Seconds since the epoch.
    public var crashTime: Int64?
    /// `2025-01-31 12:00:00 UTC`.
    public var crashTimeUTC: String?
    /// Seconds since boot at the crash (from the log's timestamps).
    public var uptimeSeconds: Double?
    /// The oops line (`BUG: ...`, `Oops: ...`), when there was an oops.
    public var problemLine: String?
    /// `Kernel panic - not syncing: ...`.
    public var panicLine: String?
    public var task: Task?
    /// The taint letters as printed (empty: not tainted; nil: unknown).
    public var taintLetters: String?
    /// The flags they stand for.
    public var taint: [TaintFlags.Flag]?
    /// `Modules linked in:`.
    public var modules: [String]?
    /// The CPU whose NT_PRSTATUS the registers come from.
    public var registersCPU: Int?
    public var registers: [Register]?
    /// Its RIP symbolized through kallsyms.
    public var rip: String?
    /// The oops' `RIP:` from the log.
    public var ripFromLog: String?
    /// The kernel's own `Call Trace:` from the log.
    public var callTrace: [KernelLogAnalysis.Frame]
    /// Text addresses on the crashing task's stack, symbolized through kallsyms.
    public var stackScan: [StackFrame]
    /// The oopsd module's breadcrumb from metadata.json, when present.
    public var breadcrumb: [String: String]?
    /// The crash signature (SHA-256 hex).
    public var signature: String
    /// The function names it was computed from.
    public var signatureFrames: [String]
    /// Number of kallsyms symbols decoded (0 when the table could not be read).
    public var symbolCount: Int
    /// What could not be determined, and why.
    public var notes: [String]
    /// The dump level asked for and the one the capture applied (lower after a fallback), from metadata.json.
    public var dumpLevelRequested: Int? = nil
    public var dumpLevelApplied: Int? = nil
    /// What the capture warned about (fallbacks, a lowered level, an empty log), from metadata.json.
    public var captureWarnings: [String]? = nil

    /// The JSON keys. report.json is written with `.convertToSnakeCase` and read with `.convertFromSnakeCase`, which
    /// turns `build_id` into `buildId`, never back into `buildID`: the three names with an acronym say which key they
    /// come from, or `oopsctl info` would lose them when it reads a saved report.
    enum CodingKeys: String, CodingKey {
        case schemaVersion, id, path, complete, incompleteReason, sizeBytes, diskBytes, kernelRelease
        case buildID = "buildId"
        case crashTime
        case crashTimeUTC = "crashTimeUtc"
        case uptimeSeconds, problemLine, panicLine, task, taintLetters, taint, modules
        case registersCPU = "registersCpu"
        case registers, rip, ripFromLog, callTrace, stackScan, breadcrumb, signature, signatureFrames, symbolCount,
            notes
        case dumpLevelRequested, dumpLevelApplied, captureWarnings
    }

    /// The shortest useful one-line summary: the problem line, else the panic line.
    public var headline: String { problemLine ?? panicLine ?? "(no oops or panic line in the log)" }
}
