import SystemCalls

/// `metadata.json`: what the capture recorded about a dump. The one schema of the file, with its one writer
/// (`json`, used by `oopsd-capture`) and its one reader (`init(json:path:)`, used by collection and the CLI).
///
/// The reader is lenient, as the file may come from an interrupted capture or another version: unknown keys are
/// ignored, and a missing key or a value of the wrong type leaves the field at its default (nil, 0 or empty).
public struct DumpMetadata: Sendable {
    /// Schema version of metadata.json.
    public static let schemaVersion = 1
    /// The program that writes the file.
    public static let tool = "oopsd-capture"

    /// The keys of metadata.json: each spelled here only.
    public enum Key {
        public static let schemaVersion = "schema_version"
        public static let status = "status"
        public static let incompleteReason = "incomplete_reason"
        public static let warnings = "warnings"
        public static let kernelRelease = "kernel_release"
        public static let buildID = "build_id"
        public static let crashTime = "crash_time"
        public static let crashTimeUTC = "crash_time_utc"
        public static let panicLine = "panic_line"
        public static let cpuCount = "cpu_count"
        public static let pages = "pages"
        public static let pageSize = "page_size"
        public static let total = "total"
        public static let written = "written"
        public static let duplicates = "duplicates"
        public static let excludedZero = "excluded_zero"
        public static let excludedFiltered = "excluded_filtered"
        public static let filteredPages = "filtered_pages"
        public static let bytesWritten = "bytes_written"
        public static let vmcoreSize = "vmcore_size"
        public static let durationMilliseconds = "duration_ms"
        public static let dumpLevel = "dump_level"
        public static let requested = "requested"
        public static let applied = "applied"
        public static let format = "format"
        public static let compression = "compression"
        public static let readMethod = "read_method"
        public static let writeMethod = "write_method"
        public static let source = "source"
        public static let tool = "tool"
        public static let toolVersion = "tool_version"
        public static let memory = "memory"
        public static let peakResidentKiB = "peak_rss_kib"
        public static let memAvailableKiB = "mem_available_kib"
        public static let breadcrumb = "breadcrumb"
    }

    /// `complete` or `incomplete`.
    public enum Status: String, Sendable {
        case complete, incomplete
    }

    /// `status` as read; when writing, it follows `incompleteReason`.
    public var status: Status?
    /// nil when complete; else why the dump is incomplete.
    public var incompleteReason: String? {
        didSet { status = incompleteReason == nil ? .complete : .incomplete }
    }
    /// Things the user should know that did not make the dump incomplete (e.g. the dump level was lowered).
    public var warnings: [String] = []
    public var kernelRelease: String?
    public var buildID: String?
    /// Seconds since the epoch.
    public var crashTime: Int64?
    public var panicLine: String?
    public var cpuCount: Int?
    /// The `pages` counts, `bytes_written`, `vmcore_size` and `read_method`.
    public var statistics = WriteStatistics()
    /// Pages left out by the struct page filter, per category name, in a fixed order.
    public var excludedByCategory: [(category: String, pages: UInt64)] = []
    /// How long the capture took; nil when the file does not say (written as 0).
    public var durationMilliseconds: UInt64?
    public var dumpLevelRequested: Int?
    public var dumpLevelApplied: Int?
    public var format: MemoryFormat?
    /// The kdump page compression, nil for ELF.
    public var compression: PageCompression?
    /// The vmcore the dump was saved from.
    public var source: String?
    /// The version of the program that wrote the file.
    public var toolVersion: String?
    /// `memory.peak_rss_kib`: the capture's peak resident memory.
    public var peakResidentKiB: Int64?
    /// `memory.mem_available_kib`: MemAvailable at the end of the capture.
    public var memAvailableKiB: Int64?
    /// The oopsd module's record of the oops (its own registers), when the crash came through it.
    public var breadcrumb: Breadcrumb?

    /// Empty metadata, as the reader starts from.
    public init() {}

    /// The metadata of a capture starting now: complete until a reason says otherwise.
    public init(source: String, level: DumpLevel, format: MemoryFormat, toolVersion: String) {
        status = .complete
        self.source = source
        dumpLevelRequested = level.requested
        dumpLevelApplied = level.applied
        self.format = format
        self.toolVersion = toolVersion
        if let warning = level.warning { warnings.append(warning) }
    }

    /// Whether the file says the dump is complete.
    public var isComplete: Bool { status == .complete }

    // MARK: Writer

    /// The metadata as a JSON object, keys in a fixed order.
    public var json: JSONValue {
        .object([
            (Key.schemaVersion, .int(Int64(DumpMetadata.schemaVersion))),
            (Key.status, .string(incompleteReason == nil ? Status.complete.rawValue : Status.incomplete.rawValue)),
            (Key.incompleteReason, .optional(incompleteReason)),
            (Key.warnings, .array(warnings.map { .string($0) })),
            (Key.kernelRelease, .optional(kernelRelease)),
            (Key.buildID, .optional(buildID)),
            (Key.crashTime, .optional(crashTime)),
            (Key.crashTimeUTC, .optional(crashTime.map(UTCTime.iso8601))),
            (Key.panicLine, .optional(panicLine)),
            (Key.cpuCount, .optional(cpuCount)),
            (
                Key.pages,
                .object([
                    (Key.pageSize, .int(4096)),
                    (Key.total, .int(Int64(statistics.totalPages))),
                    (Key.written, .int(Int64(statistics.writtenPages))),
                    (Key.duplicates, .int(Int64(statistics.duplicatePages))),
                    (Key.excludedZero, .int(Int64(statistics.excludedZeroPages))),
                    (Key.excludedFiltered, .int(Int64(statistics.excludedFilteredPages))),
                ])
            ),
            (Key.filteredPages, .object(excludedByCategory.map { ($0.category, .int(Int64($0.pages))) })),
            (Key.bytesWritten, .int(Int64(statistics.bytesWritten))),
            (Key.vmcoreSize, .int(Int64(statistics.outputSize))),
            (Key.durationMilliseconds, .int(Int64(durationMilliseconds ?? 0))),
            (
                Key.dumpLevel,
                .object([
                    (Key.requested, .optional(dumpLevelRequested)), (Key.applied, .optional(dumpLevelApplied)),
                ])
            ),
            (Key.format, .optional(format?.rawValue)),
            (Key.compression, .optional(compression?.rawValue)),
            (Key.readMethod, .string(statistics.readMethod)),
            (Key.writeMethod, .optional(statistics.writeMethod)),
            (Key.source, .optional(source)),
            (Key.tool, .string(DumpMetadata.tool)),
            (Key.toolVersion, .optional(toolVersion)),
            (
                Key.memory,
                .object([
                    (Key.peakResidentKiB, .optional(peakResidentKiB)),
                    (Key.memAvailableKiB, .optional(memAvailableKiB)),
                ])
            ),
            (Key.breadcrumb, breadcrumb?.json ?? .null),
        ])
    }

    /// The file's bytes.
    public var bytes: [UInt8] { Array(json.serialized().utf8) }

    // MARK: Reader

    /// Parses the bytes of a metadata.json file; `path` names it in errors.
    public init(json bytes: [UInt8], path: String) throws(DumpFileError) {
        let object: JSONValue
        do {
            object = try JSONValue.parse(bytes)
        } catch {
            throw .malformed(path: path, reason: "not valid JSON (\(error))")
        }
        guard object.objectMembers != nil else {
            throw .malformed(path: path, reason: "expected a JSON object at the top level")
        }
        self.init()
        incompleteReason = object[Key.incompleteReason]?.stringValue
        status = object[Key.status]?.stringValue.flatMap(Status.init(rawValue:))
        warnings = object[Key.warnings]?.arrayValues?.compactMap(\.stringValue) ?? []
        kernelRelease = object[Key.kernelRelease]?.stringValue
        buildID = object[Key.buildID]?.stringValue
        crashTime = object[Key.crashTime]?.int64Value
        panicLine = object[Key.panicLine]?.stringValue
        cpuCount = object[Key.cpuCount]?.int64Value.flatMap { Int(exactly: $0) }
        func count(_ value: JSONValue?) -> UInt64 { value?.int64Value.flatMap { UInt64(exactly: $0) } ?? 0 }
        let pages = object[Key.pages]
        statistics.totalPages = count(pages?[Key.total])
        statistics.writtenPages = count(pages?[Key.written])
        statistics.duplicatePages = count(pages?[Key.duplicates])
        statistics.excludedZeroPages = count(pages?[Key.excludedZero])
        statistics.excludedFilteredPages = count(pages?[Key.excludedFiltered])
        statistics.bytesWritten = count(object[Key.bytesWritten])
        statistics.outputSize = count(object[Key.vmcoreSize])
        statistics.readMethod = object[Key.readMethod]?.stringValue ?? statistics.readMethod
        statistics.writeMethod = object[Key.writeMethod]?.stringValue
        excludedByCategory = (object[Key.filteredPages]?.objectMembers ?? []).map { ($0.0, count($0.1)) }
        durationMilliseconds = object[Key.durationMilliseconds]?.int64Value.flatMap { UInt64(exactly: $0) }
        dumpLevelRequested = object[Key.dumpLevel]?[Key.requested]?.int64Value.flatMap { Int(exactly: $0) }
        dumpLevelApplied = object[Key.dumpLevel]?[Key.applied]?.int64Value.flatMap { Int(exactly: $0) }
        format = object[Key.format]?.stringValue.flatMap(MemoryFormat.init(rawValue:))
        compression = object[Key.compression]?.stringValue.flatMap(PageCompression.init(rawValue:))
        source = object[Key.source]?.stringValue
        toolVersion = object[Key.toolVersion]?.stringValue
        peakResidentKiB = object[Key.memory]?[Key.peakResidentKiB]?.int64Value
        memAvailableKiB = object[Key.memory]?[Key.memAvailableKiB]?.int64Value
        breadcrumb = object[Key.breadcrumb].flatMap(Breadcrumb.init(json:))
    }

    /// Reads `path`; nil when the file does not exist.
    public static func read(_ path: String) throws(DumpFileError) -> DumpMetadata? {
        guard FileSystem.exists(path) else { return nil }
        let bytes: [UInt8]
        do {
            // Never through a symlink (a root-only file would be shown), never waiting on a FIFO.
            bytes = try FileSystem.readRegularFile(path, limit: maximumSize)
        } catch {
            throw .unreadable(path: path, cause: FileReadError(caught: error))
        }
        return try DumpMetadata(json: bytes, path: path)
    }

    /// The most bytes read of a metadata.json (the capture writes a few KiB).
    public static let maximumSize = 1 << 20
}
