import TestSupport
import Testing
import VMCore

@Suite struct PrintkRingTests {
    @Test func decodesWrappedTruncatedAndSkippedRecordsLikeVmcoreDmesg() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", PrintkRingFixture.core().bytes()))
        defer { try? core.close() }
        let records = try PrintkRing.records(of: core)
        #expect(records.count == 4)
        #expect(String(decoding: DmesgFormat.text(records), as: UTF8.self) == PrintkRingFixture.expectedDmesg)
    }

    @Test func formatsTimestampsAndEscapesExactly() {
        let record = PrintkRecord(timestampNanoseconds: 7_000_001_999, text: [0x41, 0x0a, 0x7f, 0x80, 0x20, 0x0d])
        #expect(DmesgFormat.line(record) == Array("[    7.000001] A\n\\x7f\\x80 \r\n".utf8))
    }

    @Test func refusesLegacyLayoutWithClearError() throws {
        var synthetic = PrintkRingFixture.core()
        synthetic.notes[2] = SyntheticCore.vmcoreinfo("OSRELEASE=5.4.0-old\nSYMBOL(log_buf)=ffffffff82000000\n")
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", synthetic.bytes()))
        defer { try? core.close() }
        #expect(throws: PrintkError.legacyLayout(osRelease: "5.4.0-old")) { try PrintkRing.records(of: core) }
        #expect(
            PrintkError.legacyLayout(osRelease: "5.4.0-old").description
                == "VMCOREINFO has no SYMBOL(prb): kernel 5.4.0-old predates the lockless printk ring of Linux 5.10, "
                + "whose log oopsd cannot decode; use vmcore-dmesg on the saved vmcore")
    }

    @Test func namesTheMissingVMCoreInfoEntry() throws {
        var synthetic = PrintkRingFixture.core()
        let text = PrintkRingFixture.vmcoreinfo.split(separator: "\n").filter {
            !$0.hasPrefix("OFFSET(prb_desc.state_var)")
        }
        synthetic.notes[2] = SyntheticCore.vmcoreinfo(text.joined(separator: "\n"))
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", synthetic.bytes()))
        defer { try? core.close() }
        let error = VMCoreInfoError(key: "OFFSET(prb_desc.state_var)", purpose: "decoding the printk ring")
        #expect(throws: error) { try PrintkRing.records(of: core) }
        #expect(
            error.description == "VMCOREINFO has no OFFSET(prb_desc.state_var) (needed for decoding the printk ring)")
    }
}
