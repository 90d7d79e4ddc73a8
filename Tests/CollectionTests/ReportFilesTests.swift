import Foundation
import Testing

@testable import Collection

struct ReportFilesTests {
    /// A report with every field set, as the collector builds it from an ELF dump.
    static func fullReport() -> Report {
        Report(
            id: "20260101T000000Z-0000c0de", path: "/var/crash/20260101T000000Z-0000c0de", complete: true,
            incompleteReason: nil, sizeBytes: 4096, diskBytes: 8192, kernelRelease: "6.1.0-56-amd64",
            buildID: "eb4fbcd037e7253717950bf2b93bd5566f47c56f", crashTime: 1_795_669_986,
            crashTimeUTC: "2026-11-26 05:13:06 UTC", uptimeSeconds: 40.5,
            problemLine: "BUG: kernel NULL pointer dereference, address: 0000000000000000",
            panicLine: "Kernel panic - not syncing: Fatal exception",
            task: .init(pid: 1, command: "init", cpu: 1), taintLetters: "",
            taint: [], modules: ["oopsd"], registersCPU: 1,
            registers: [.init(name: "rip", value: "0xffffffffad090926")], rip: "sysrq_handle_crash+0x16/0x20",
            ripFromLog: "sysrq_handle_crash+0x16/0x20",
            callTrace: [.init(function: "panic", offset: 0x118, size: 0x2f4, module: nil, reliable: true)],
            stackScan: [
                .init(
                    stackAddress: "0xff43d4afc0013cb8", address: "0xffffffffad090926",
                    symbol: "sysrq_handle_crash+0x16/0x20")
            ],
            breadcrumb: ["event": "DIE_OOPS"], signature: "5648", signatureFrames: ["sysrq_handle_crash"],
            symbolCount: 12, notes: ["a note"])
    }

    @Test func captureFallbacksAreShownAndKept() throws {
        var report = Self.fullReport()
        report.dumpLevelRequested = 31
        report.dumpLevelApplied = 1
        report.captureWarnings = [
            "dump level 31 failed: the step 'selecting pages at dump level 31 (SIZE(page)=65536, SECTION_SIZE_BITS=27)'"
                + " killed by signal 5 (SIGTRAP); falling back to dump level 1 without the struct page walk"
        ]
        let read = try ReportFiles.decode(try ReportFiles.json(report), path: "report.json")
        #expect(read == report)
        let lines = ReportText.render(read).split(separator: "\n").map(String.init)
        let status = try #require(lines.firstIndex(of: "Status:      complete"))
        #expect(lines[status + 1] == "Dump level:  1 (31 requested)")
        #expect(lines[status + 2] == "Warning:     " + report.captureWarnings![0])
        // A dump at the level asked for, without warnings (or an older report without the fields): no extra lines.
        #expect(!ReportText.render(Self.fullReport()).contains("Dump level:"))
        report.dumpLevelApplied = 31
        report.captureWarnings = []
        #expect(ReportText.render(report).contains("Dump level:  31\n"))
        #expect(!ReportText.render(report).contains("Warning:"))
    }

    @Test func reportJSONReadsBackEveryField() throws {
        let report = Self.fullReport()
        let bytes = try ReportFiles.json(report)
        let text = String(decoding: bytes, as: UTF8.self)
        // The keys people and scripts read stay snake_case.
        #expect(text.contains(#""build_id" : "eb4fbcd037e7253717950bf2b93bd5566f47c56f""#), "\(text)")
        #expect(text.contains(#""crash_time_utc" : "2026-11-26 05:13:06 UTC""#), "\(text)")
        #expect(text.contains(#""registers_cpu" : 1"#), "\(text)")
        let read = try ReportFiles.decode(bytes, path: "report.json")
        #expect(read.buildID == report.buildID)
        #expect(read.crashTimeUTC == report.crashTimeUTC)
        #expect(read.registersCPU == report.registersCPU)
        #expect(read == report)
        // What `oopsctl info` prints from the saved report.
        #expect(
            ReportText.render(read).contains("Crashed:     2026-11-26 05:13:06 UTC, uptime"),
            "\(ReportText.render(read))")
    }
}
