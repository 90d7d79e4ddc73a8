import Capture
import DumpFormat
import Foundation  // tests only: JSONSerialization checks that our hand-written JSON parses
import SystemCalls
import TestSupport
import Testing
import VMCore

// SyntheticCore.swift and PrintkRingFixture.swift are symlinks to the VMCoreTests copies.

@Suite struct DumpSaverTests {
    static func sparseCore() -> SyntheticCore {
        var core = PrintkRingFixture.core()
        var memory = [UInt8](repeating: 0, count: 8 * 4096)
        memory[5 * 4096 + 7] = 0x5a
        core.segments.append(
            .init(
                virtualAddress: SyntheticCore.pageOffset + 0x0100_0000, physicalAddress: 0x0100_0000,
                data: memory))
        return core
    }

    func capture(
        _ bytes: [UInt8], level: Int = 1, in scratch: TemporaryDirectory
    ) throws -> (DumpSaver.Outcome, [String]) {
        let input = try scratch.write("input", bytes)
        var lines: [String] = []
        let outcome = DumpSaver(
            options: .init(
                vmcorePath: input, outputDirectory: scratch.path + "/dump",
                dumpLevel: DumpLevel(level)!, windowSize: 8192)
        ) { lines.append($0) }.run()
        return (outcome, lines)
    }

    func metadata(_ path: String) throws -> [String: Any] {
        let data = Data(try FileSystem.readBytes(path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func hexText(_ value: Int) -> String { "0x" + String(value, radix: 16) }

    @Test func writesDmesgVmcoreAndMetadataThenRenames() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let (outcome, lines) = try capture(Self.sparseCore().bytes(), in: scratch)
        let dump = scratch.path + "/dump"
        #expect(outcome.isComplete)
        #expect(outcome.directory == dump)
        #expect(!FileSystem.exists(dump + ".incomplete"))
        #expect(try FileSystem.listDirectory(dump) == ["dmesg.txt", "metadata.json", "vmcore"])
        #expect(try FileSystem.status(dump)?.permissions == 0o700)
        for name in ["dmesg.txt", "metadata.json", "vmcore"] {
            #expect(try FileSystem.status(dump + "/" + name)?.permissions == 0o600)
        }
        #expect(try FileSystem.readText(dump + "/dmesg.txt") == PrintkRingFixture.expectedDmesg)
        let json = try metadata(dump + "/metadata.json")
        #expect(json["status"] as? String == "complete")
        #expect(json["incomplete_reason"] is NSNull)
        #expect(json["kernel_release"] as? String == "6.1.0-synthetic")
        #expect(json["build_id"] as? String == "0123456789abcdef0123456789abcdef01234567")
        #expect(json["crash_time"] as? Int == 1_700_000_000)
        #expect(json["crash_time_utc"] as? String == "2023-11-14T22:13:20Z")
        #expect(json["panic_line"] as? String == "Kernel panic - not synci")
        #expect(json["cpu_count"] as? Int == 2)
        let pages = try #require(json["pages"] as? [String: Int])
        #expect(
            pages == [
                // Zero pages are stored in the default ELF layout.
                "page_size": 4096, "total": 1 + 3 + 8, "written": 12, "duplicates": 0, "excluded_zero": 0,
                "excluded_filtered": 0,
            ])
        #expect(
            json["filtered_pages"] as? [String: Int] == [
                "cache": 0, "privateCache": 0, "user": 0, "free": 0, "hwPoison": 0, "offline": 0,
            ])
        #expect(json["format"] as? String == "elf")
        #expect((json["dump_level"] as? [String: Int]) == ["requested": 1, "applied": 1])
        #expect(json["vmcore_size"] as? Int == Int(try FileSystem.status(dump + "/vmcore")!.size))
        #expect(lines.last == "dump complete in \(dump)")
    }

    @Test func truncatedInputKeepsTheLogAndMarksTheDumpIncomplete() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let full = Self.sparseCore().bytes()
        let (outcome, lines) = try capture(Array(full.prefix(full.count - 3 * 4096)), in: scratch)
        let kept = scratch.path + "/dump.incomplete"
        #expect(!outcome.isComplete)
        #expect(outcome.directory == kept)
        #expect(!FileSystem.exists(scratch.path + "/dump"))
        #expect(try FileSystem.readText(kept + "/dmesg.txt") == PrintkRingFixture.expectedDmesg)
        let json = try metadata(kept + "/metadata.json")
        #expect(json["status"] as? String == "incomplete")
        let reason = try #require(json["incomplete_reason"] as? String)
        let input = try ELFCore.open(scratch.path + "/input")
        defer { try? input.close() }
        let start = Int(input.programHeaders[3].offset)
        let size = full.count - 3 * 4096
        #expect(
            reason == "cannot save the memory: \(scratch.path)/input: truncated: PT_LOAD segment at physical "
                + "address 0x1000000 needs bytes \(hexText(start))..<\(hexText(start + 8 * 4096)) but the file ends at "
                + "\(hexText(size)) (\(size) bytes)")
        #expect(lines.contains("error: " + reason))
        let header = try FileSystem.readBytes(kept + "/vmcore", limit: 64)
        #expect(header.littleEndian(UInt32.self, at: 48) == ELFHeader.flagIncomplete)
    }

    @Test func unreadableInputStillLeavesIncompleteMetadata() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let (outcome, _) = try capture(
            Array("not a core at all, just text........................................".utf8),
            in: scratch)
        #expect(!outcome.isComplete)
        let json = try metadata(scratch.path + "/dump.incomplete/metadata.json")
        #expect(
            json["incomplete_reason"] as? String
                == "cannot read \(scratch.path)/input: \(scratch.path)/input: not an ELF file: magic is 6e 6f 74 20, "
                + "expected 7f 45 4c 46")
    }

    @Test func aRingWithNoReadableRecordIsSavedWithAWarningNotSilently() throws {
        var core = Self.sparseCore()
        // state_var read 8 bytes off (from text_blk_lpos.begin): no descriptor's id matches, every record is rejected.
        core.notes[core.notes.count - 1] = SyntheticCore.vmcoreinfo(
            PrintkRingFixture.vmcoreinfo.replacingOccurrences(
                of: "OFFSET(prb_desc.state_var)=0", with: "OFFSET(prb_desc.state_var)=8"))
        let scratch = try TemporaryDirectory("vmcore")
        let (outcome, lines) = try capture(core.bytes(), in: scratch)
        #expect(outcome.isComplete)
        #expect(try FileSystem.readText(scratch.path + "/dump/dmesg.txt") == "")
        let json = try metadata(scratch.path + "/dump/metadata.json")
        let warning =
            "the printk ring held no readable record: dmesg.txt is empty (corrupt ring indices or VMCOREINFO "
            + "printk offsets)"
        #expect(json["warnings"] as? [String] == [warning])
        #expect(lines.contains("warning: " + warning))
    }

    @Test func levelWithFilteringBitsIsLoweredWithAWarningWhenStructPagesCannotBeRead() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let (outcome, lines) = try capture(Self.sparseCore().bytes(), level: 31, in: scratch)
        #expect(outcome.isComplete)
        let json = try metadata(scratch.path + "/dump/metadata.json")
        #expect((json["dump_level"] as? [String: Int]) == ["requested": 31, "applied": 1])
        let warnings = try #require(json["warnings"] as? [String])
        #expect(warnings.count == 1)
        #expect(
            warnings[0].hasPrefix("dump level 31 lowered to 1: cannot read the crashed kernel's page descriptors ("))
        #expect(warnings[0].hasSuffix("); cache, user and free pages are kept"))
        #expect(lines.contains("warning: " + warnings[0]))
    }

    @Test func kdumpFormatWritesVmcoreKdumpReadableBack() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let input = try scratch.write("input", Self.sparseCore().bytes())
        let outcome = DumpSaver(
            options: .init(
                vmcorePath: input, outputDirectory: scratch.path + "/dump",
                dumpLevel: DumpLevel(1)!, format: .kdump, compression: .zlib, threads: 2)
        ) { _ in }.run()
        #expect(outcome.isComplete)
        #expect(!FileSystem.exists(scratch.path + "/dump/vmcore"))
        let reader = try KdumpReader.open(scratch.path + "/dump/vmcore.kdump")
        defer { try? reader.close() }
        var page = [UInt8](repeating: 0, count: 4096)
        page[7] = 0x5a
        #expect(try reader.page(0x1005) == page)
        #expect(try reader.page(0x1004) == [UInt8](repeating: 0, count: 4096))
        let json = try metadata(scratch.path + "/dump/metadata.json")
        #expect(json["format"] as? String == "kdump")
        #expect(json["compression"] as? String == "zlib")
    }

    @Test func levelZeroWritesEveryPage() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let (outcome, _) = try capture(Self.sparseCore().bytes(), level: 0, in: scratch)
        #expect(outcome.metadata.statistics.excludedZeroPages == 0)
        #expect(outcome.metadata.statistics.writtenPages == 12)
    }

    @Test func refusesAnExistingOutputDirectory() throws {
        let scratch = try TemporaryDirectory("vmcore")
        try FileSystem.makeDirectory(scratch.path + "/dump", mode: 0o700)
        let (outcome, lines) = try capture(Self.sparseCore().bytes(), in: scratch)
        #expect(outcome.directory == nil)
        #expect(
            lines == [
                "error: cannot create the dump directory: create dump directory \(scratch.path)/dump: "
                    + "File exists (EEXIST)"
            ])
    }

    @Test func writeFailureKeepsDmesgAndMetadata() async throws {
        let scratch = try TemporaryDirectory("vmcore")
        let input = try scratch.write("input", Self.sparseCore().bytes())
        let output = scratch.path + "/dump"
        // In a child process: files may not grow past 12 KiB, so dmesg and metadata fit but the vmcore does not.
        await #expect(processExitsWith: .exitCode(1)) { [input = input as String, output = output as String] in
            signal(SIGXFSZ, SIG_IGN)
            var limit = rlimit(rlim_cur: 12 * 1024, rlim_max: 12 * 1024)
            setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
            let outcome = DumpSaver(
                options: .init(
                    vmcorePath: input, outputDirectory: output,
                    dumpLevel: DumpLevel(0)!, windowSize: 8192)
            ) { _ in }.run()
            exit(outcome.isComplete ? 0 : 1)
        }
        #expect(try FileSystem.readText(output + ".incomplete/dmesg.txt") == PrintkRingFixture.expectedDmesg)
        let json = try metadata(output + ".incomplete/metadata.json")
        #expect(json["status"] as? String == "incomplete")
        let reason = try #require(json["incomplete_reason"] as? String)
        #expect(reason.hasPrefix("cannot save the memory: pwrite \(output).incomplete/vmcore: File too large (EFBIG)"))
    }
}

@Suite struct JSONValueTests {
    @Test func escapesStringsExactly() {
        let text = "quote\" backslash\\ newline\n tab\t bell\u{07} del\u{7f} é ✓"
        #expect(
            JSONValue.quoted(text)
                == "\"quote\\\" backslash\\\\ newline\\n tab\\t bell\\u0007 del\\u007f é ✓\"")
    }

    @Test func serializesNestedValuesInOrder() {
        let value = JSONValue.object([("b", .int(-1)), ("a", .array([.bool(true), .null])), ("e", .object([]))])
        #expect(value.serialized() == "{\n  \"b\": -1,\n  \"a\": [\n    true,\n    null\n  ],\n  \"e\": {}\n}\n")
    }

    @Test func readsPeakMemoryAndAvailableMemory() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let status = try scratch.write("status", Array("Name:\tx\nVmPeak:\t  9999 kB\nVmHWM:\t    5812 kB\n".utf8))
        let meminfo = try scratch.write("meminfo", Array("MemTotal:  48000 kB\nMemAvailable:   17700 kB\n".utf8))
        #expect(SystemMemory.peakResidentKiB(statusPath: status) == 5812)
        #expect(SystemMemory.availableKiB(meminfoPath: meminfo) == 17700)
    }
}
