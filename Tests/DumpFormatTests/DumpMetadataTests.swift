import DumpFormat
import SystemCalls
import Testing

@Suite struct DumpMetadataTests {
    static var metadata: DumpMetadata {
        var metadata = DumpMetadata(
            source: "/proc/vmcore", level: DumpLevel(31)!.lowered(removing: 16, because: "no buddy"), format: .kdump,
            toolVersion: "9.9")
        metadata.compression = .zstd
        metadata.kernelRelease = "6.1.0-56-amd64"
        metadata.crashTime = 1_767_225_600
        metadata.panicLine = "Kernel panic - not syncing: sysrq"
        metadata.cpuCount = 2
        metadata.statistics.totalPages = 10
        metadata.statistics.writtenPages = 4
        metadata.statistics.duplicatePages = 2
        metadata.statistics.excludedZeroPages = 1
        metadata.statistics.excludedFilteredPages = 5
        metadata.statistics.bytesWritten = 9000
        metadata.statistics.outputSize = 12000
        metadata.statistics.writeMethod = "direct with a copy"
        metadata.excludedByCategory = [("cache", 3), ("user", 2)]
        metadata.durationMilliseconds = 1234
        metadata.peakResidentKiB = 5000
        var crumb = DumpMetadata.Breadcrumb()
        crumb.event = "DIE_OOPS"
        crumb.die = "Oops"
        crumb.trap = 14
        crumb.signal = 9
        crumb.cpu = 1
        crumb.errorCode = 2
        crumb.taint = 0x1000
        crumb.pid = 42
        crumb.tgid = 42
        crumb.command = "bash"
        crumb.oopsCount = 1
        crumb.realtimeNanoseconds = 5
        crumb.clockNanoseconds = 6
        crumb.registers = [.init(name: "r15", value: 0xffff), .init(name: "rip", value: 0xffff_ffff_8100_0000)]
        metadata.breadcrumb = crumb
        return metadata
    }

    static let text = """
        {
          "schema_version": 1,
          "status": "incomplete",
          "incomplete_reason": "disk full",
          "warnings": [
            "dump level 31 lowered to 15: no buddy"
          ],
          "kernel_release": "6.1.0-56-amd64",
          "build_id": null,
          "crash_time": 1767225600,
          "crash_time_utc": "2026-01-01T00:00:00Z",
          "panic_line": "Kernel panic - not syncing: sysrq",
          "cpu_count": 2,
          "pages": {
            "page_size": 4096,
            "total": 10,
            "written": 4,
            "duplicates": 2,
            "excluded_zero": 1,
            "excluded_filtered": 5
          },
          "filtered_pages": {
            "cache": 3,
            "user": 2
          },
          "bytes_written": 9000,
          "vmcore_size": 12000,
          "duration_ms": 1234,
          "dump_level": {
            "requested": 31,
            "applied": 15
          },
          "format": "kdump",
          "compression": "zstd",
          "read_method": "mmap",
          "write_method": "direct with a copy",
          "source": "/proc/vmcore",
          "tool": "oopsd-capture",
          "tool_version": "9.9",
          "memory": {
            "peak_rss_kib": 5000,
            "mem_available_kib": null
          },
          "breadcrumb": {
            "event": "DIE_OOPS",
            "die": "Oops",
            "trap": 14,
            "signal": 9,
            "cpu": 1,
            "error_code": "0x2",
            "taint": "0x1000",
            "pid": 42,
            "tgid": 42,
            "comm": "bash",
            "oops_count": 1,
            "realtime_ns": 5,
            "clock_ns": 6,
            "r15": "0xffff",
            "rip": "0xffffffff81000000"
          }
        }

        """

    @Test func writesTheSchemaInItsFixedOrder() {
        var metadata = Self.metadata
        metadata.incompleteReason = "disk full"
        #expect(String(decoding: metadata.bytes, as: UTF8.self) == Self.text)
    }

    @Test func readsBackEveryFieldItWrites() throws {
        var written = Self.metadata
        written.incompleteReason = "disk full"
        let read = try DumpMetadata(json: written.bytes, path: "m")
        #expect(read.status == .incomplete)
        #expect(!read.isComplete)
        #expect(read.incompleteReason == "disk full")
        #expect(read.warnings == written.warnings)
        #expect(read.kernelRelease == "6.1.0-56-amd64" && read.buildID == nil)
        #expect(read.crashTime == 1_767_225_600 && read.cpuCount == 2)
        #expect(read.statistics == written.statistics)
        #expect(read.excludedByCategory.map(\.category) == ["cache", "user"])
        #expect(read.excludedByCategory.map(\.pages) == [3, 2])
        #expect(read.durationMilliseconds == 1234)
        #expect(read.dumpLevelRequested == 31 && read.dumpLevelApplied == 15)
        #expect(read.format == .kdump && read.compression == .zstd)
        #expect(read.source == "/proc/vmcore" && read.toolVersion == "9.9")
        #expect(read.peakResidentKiB == 5000 && read.memAvailableKiB == nil)
        #expect(read.breadcrumb == written.breadcrumb)
        #expect(read.bytes == written.bytes)
    }

    @Test func completeWhenNoReasonIsGiven() throws {
        let read = try DumpMetadata(json: Self.metadata.bytes, path: "m")
        #expect(read.isComplete)
    }

    @Test func breadcrumbTextFieldsForReports() {
        let fields = Self.metadata.breadcrumb!.textFields
        #expect(fields["comm"] == "bash")
        #expect(fields["pid"] == "42")
        #expect(fields["rip"] == "0xffffffff81000000")
        #expect(fields.count == 15)
    }

    @Test func lenientReaderAndPreciseErrors() throws {
        let sparse = try DumpMetadata(json: Array(#"{"status":"complete","crash_time":7,"extra":[1]}"#.utf8), path: "m")
        #expect(
            sparse.isComplete && sparse.crashTime == 7 && sparse.durationMilliseconds == nil && sparse.format == nil)
        let unknown = try DumpMetadata(json: Array(#"{"status":"finished"}"#.utf8), path: "m")
        #expect(!unknown.isComplete)
        #expect(throws: DumpFileError.malformed(path: "m", reason: "expected a JSON object at the top level")) {
            try DumpMetadata(json: Array("[1]".utf8), path: "m")
        }
        #expect(try DumpMetadata.read("/nonexistent/metadata.json") == nil)
    }
}
