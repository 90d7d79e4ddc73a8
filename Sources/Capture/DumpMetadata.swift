import SystemCalls
import VMCore

/// What `metadata.json` says about a dump. One place decides its schema: `json`.
public struct DumpMetadata: Sendable {
    /// Schema version of metadata.json.
    public static let schemaVersion = 1

    public var kernelRelease: String?
    public var buildID: String?
    public var crashTime: Int64?
    public var panicLine: String?
    public var cpuCount: Int?
    public var statistics = WriteStatistics()
    public var durationMilliseconds: UInt64 = 0
    public var dumpLevelRequested: Int
    public var dumpLevelApplied: Int
    public var format: String
    /// The kdump page compression, nil for ELF.
    public var compression: String?
    /// Pages left out by the struct page filter, per category.
    public var excludedByCategory: [(PageClassifier.Category, UInt64)] = []
    public var peakResidentKiB: Int64?
    public var memAvailableKiB: Int64?
    public var source: String
    /// nil when complete; else why the dump is incomplete.
    public var incompleteReason: String?
    /// Things the user should know that did not make the dump incomplete (e.g. the dump level was lowered).
    public var warnings: [String] = []
    /// The oopsd module's record of the oops (its own registers), when the crash came through it.
    public var breadcrumb: Breadcrumb?

    public init(source: String, level: DumpLevel, format: String) {
        self.source = source
        dumpLevelRequested = level.requested
        dumpLevelApplied = level.applied
        self.format = format
        if let warning = level.warning { warnings.append(warning) }
    }

    /// `complete` or `incomplete`.
    public var status: String { incompleteReason == nil ? "complete" : "incomplete" }

    /// The metadata as a JSON object, keys in a fixed order.
    public var json: JSONValue {
        .object([
            ("schema_version", .int(Int64(DumpMetadata.schemaVersion))),
            ("status", .string(status)),
            ("incomplete_reason", .optional(incompleteReason)),
            ("warnings", .array(warnings.map { .string($0) })),
            ("kernel_release", .optional(kernelRelease)),
            ("build_id", .optional(buildID)),
            ("crash_time", .optional(crashTime)),
            ("crash_time_utc", .optional(crashTime.map(CaptureClock.utcText))),
            ("panic_line", .optional(panicLine)),
            ("cpu_count", .optional(cpuCount)),
            ("pages", .object([
                ("page_size", .int(4096)),
                ("total", .int(Int64(statistics.totalPages))),
                ("written", .int(Int64(statistics.writtenPages))),
                ("excluded_zero", .int(Int64(statistics.excludedZeroPages))),
                ("excluded_filtered", .int(Int64(statistics.excludedFilteredPages))),
            ])),
            ("filtered_pages", .object(excludedByCategory.map { ("\($0.0)", .int(Int64($0.1))) })),
            ("bytes_written", .int(Int64(statistics.bytesWritten))),
            ("vmcore_size", .int(Int64(statistics.outputSize))),
            ("duration_ms", .int(Int64(durationMilliseconds))),
            ("dump_level", .object([("requested", .int(Int64(dumpLevelRequested))), ("applied", .int(Int64(dumpLevelApplied)))])),
            ("format", .string(format)),
            ("compression", .optional(compression)),
            ("read_method", .string(statistics.readMethod)),
            ("source", .string(source)),
            ("tool", .string("oopsd-capture")),
            ("tool_version", .string(ToolVersion.current)),
            ("memory", .object([
                ("peak_rss_kib", .optional(peakResidentKiB)),
                ("mem_available_kib", .optional(memAvailableKiB)),
            ])),
            ("breadcrumb", breadcrumb.map(Self.json) ?? .null),
        ])
    }

    /// The breadcrumb as a flat object: numbers, and registers as hex strings.
    static func json(_ crumb: Breadcrumb) -> JSONValue {
        func hex(_ value: UInt64) -> JSONValue { .string("0x" + String(value, radix: 16)) }
        var fields: [(String, JSONValue)] = [
            ("event", .string(crumb.eventName)),
            ("die", .string(crumb.dieString)),
            ("trap", .int(Int64(crumb.trapNumber))),
            ("signal", .int(Int64(crumb.signal))),
            ("cpu", .int(Int64(crumb.cpu))),
            ("error_code", hex(crumb.errorCode)),
            ("taint", hex(crumb.taint)),
            ("pid", .int(Int64(crumb.pid))),
            ("tgid", .int(Int64(crumb.tgid))),
            ("comm", .string(crumb.command)),
            ("oops_count", .int(Int64(crumb.oopsCount))),
            ("realtime_ns", .int(Int64(bitPattern: crumb.realtimeNanoseconds))),
            ("clock_ns", .int(Int64(bitPattern: crumb.clockNanoseconds))),
        ]
        for (index, value) in crumb.registers.enumerated() {
            guard let name = PRStatus.RegisterName(rawValue: index) else { break }
            fields.append(("\(name)".lowercased(), hex(value)))
        }
        return .object(fields)
    }
}
