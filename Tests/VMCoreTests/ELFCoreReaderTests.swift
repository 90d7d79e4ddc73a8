import SystemCalls
import TestSupport
import Testing
import VMCore

@Suite struct ELFCoreReaderTests {
    @Test func readsHeadersNotesCPUsAndSegments() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let path = try scratch.write("vmcore", PrintkRingFixture.core().bytes())
        let core = try ELFCore.open(path)
        defer { try? core.close() }
        #expect(core.header.programHeaderCount == 3)
        #expect(core.notes.map(\.name) == ["CORE", "CORE", "VMCOREINFO"])
        #expect(core.cpus.count == 2)
        #expect(core.cpus[0].pid == 1)
        #expect(core.cpus[0][.rip] == 0xffff_ffff_8100_1234)
        #expect(core.cpus[1][.rsp] == 0xffff_c900_0000_1f00)
        let loads = core.loadSegments.map(\.header)
        #expect(loads.map(\.virtualAddress) == [0xffff_ffff_8100_0000, 0xffff_8880_0010_0000])
        #expect(loads.map(\.physicalAddress) == [0x0200_0000, 0x0010_0000])
        #expect(loads.map(\.fileSize) == [4096, 0x3000])
        #expect(core.vmcoreInfo?.osRelease == "6.1.0-synthetic")
    }

    @Test func translatesTextMappingDirectMapAndPhysicalAddresses() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let path = try scratch.write("vmcore", PrintkRingFixture.core().bytes())
        let core = try ELFCore.open(path)
        defer { try? core.close() }
        let text = core.programHeaders[1]
        let direct = core.programHeaders[2]
        #expect(core.directMapBase == SyntheticCore.pageOffset)
        #expect(core.fileOffset(virtual: 0xffff_ffff_8100_0010) == text.offset + 0x10)
        #expect(core.fileOffset(virtual: 0xffff_8880_0010_0008) == direct.offset + 8)
        #expect(core.fileOffset(physical: 0x0010_2fff) == direct.offset + 0x2fff)
        #expect(core.fileOffset(physical: 0x0010_3000) == nil)
        #expect(core.fileOffset(virtual: 0xffff_ffff_9000_0000) == nil)
        // The pointer stored at `prb` points at the ring in the direct map.
        #expect(try core.readVirtualUInt64(0xffff_ffff_8100_0010, what: "prb") == 0xffff_8880_0010_0000)
        #expect(throws: UnmappedAddressError(address: 0xffff_ffff_9000_0000, isVirtual: true, what: "x")) {
            _ = try core.readVirtual(0xffff_ffff_9000_0000, count: 1, what: "x")
        }
    }

    @Test func bytesPastFileSizeReadAsZero() throws {
        var synthetic = SyntheticCore()
        synthetic.notes = [SyntheticCore.vmcoreinfo("OSRELEASE=x\n")]
        synthetic.segments = [
            .init(
                virtualAddress: 0xffff_8880_0000_0000, physicalAddress: 0,
                data: [1, 2, 3, 4], extraMemory: 4)
        ]
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", synthetic.bytes()))
        defer { try? core.close() }
        #expect(try core.readVirtual(0xffff_8880_0000_0002, count: 6, what: "t") == [3, 4, 0, 0, 0, 0])
    }

    /// Opens `bytes` as a core and returns the error text.
    func openError(_ bytes: [UInt8]) throws -> String {
        let scratch = try TemporaryDirectory("vmcore")
        let path = try scratch.write("bad", bytes)
        do {
            let core = try ELFCore.open(path)
            try? core.close()
            return "opened"
        } catch let error as ELFCoreError {
            #expect(error.path == path)
            return error.problem.description
        }
    }

    @Test func rejectsTruncatedHeader() throws {
        let bytes = Array(PrintkRingFixture.core().bytes().prefix(40))
        #expect(
            try openError(bytes) == "truncated: ELF header needs bytes 0x0..<0x40 but the file ends at 0x28 (40 bytes)")
    }

    @Test func rejectsTruncatedProgramHeaderTable() throws {
        let bytes = Array(PrintkRingFixture.core().bytes().prefix(100))
        #expect(
            try openError(bytes)
                == "truncated: program header table (3 entries) needs bytes 0x40..<0xe8 but the file ends at 0x64 (100 bytes)"
        )
    }

    @Test func rejectsTruncatedNotes() throws {
        let full = PrintkRingFixture.core().bytes()
        let bytes = Array(full.prefix(0xe8 + 100))
        let noteSize = PrintkRingFixture.core().notes.reduce(0) { $0 + $1.encoded().count }
        #expect(
            try openError(bytes) == "truncated: PT_NOTE segment 0 needs bytes 0xe8..<\(hexText(0xe8 + noteSize)) "
                + "but the file ends at 0x14c (332 bytes)")
    }

    @Test func rejectsBadMagicClassOrderTypeMachine() throws {
        var bytes = PrintkRingFixture.core().bytes()
        bytes[1] = 0x46
        #expect(try openError(bytes) == "not an ELF file: magic is 7f 46 4c 46, expected 7f 45 4c 46")
        bytes = PrintkRingFixture.core().bytes()
        bytes[4] = 1
        #expect(try openError(bytes) == "unsupported ELF class 1 at offset 4, expected 2 (ELFCLASS64)")
        bytes = PrintkRingFixture.core().bytes()
        bytes[5] = 2
        #expect(
            try openError(bytes) == "unsupported ELF byte order 2 at offset 5, expected 1 (ELFDATA2LSB, little-endian)")
        bytes = PrintkRingFixture.core().bytes()
        bytes[16] = 2
        #expect(try openError(bytes) == "ELF type is 2 at offset 16, expected 4 (ET_CORE)")
        bytes = PrintkRingFixture.core().bytes()
        bytes[18] = 183
        #expect(try openError(bytes) == "ELF machine is 183 at offset 18, expected 62 (EM_X86_64)")
    }

    @Test func rejectsAbsurdProgramHeaders() throws {
        var bytes = PrintkRingFixture.core().bytes()
        bytes[56] = 0
        bytes[57] = 0
        #expect(try openError(bytes) == "absurd program header count 0 (expected 1 to 65536)")
        bytes = PrintkRingFixture.core().bytes()
        bytes[54] = 32
        #expect(try openError(bytes) == "program header entry size (e_phentsize) is 32, expected 56")
        // Second PT_LOAD (program header 2): p_filesz larger than p_memsz.
        bytes = PrintkRingFixture.core().bytes()
        SyntheticCore.put(&bytes, UInt64(0x4000), at: 64 + 2 * 56 + 32)
        #expect(try openError(bytes) == "program header 2: p_filesz 0x4000 is larger than p_memsz 0x3000")
        // p_offset + p_filesz overflows.
        bytes = PrintkRingFixture.core().bytes()
        SyntheticCore.put(&bytes, UInt64.max - 10, at: 64 + 1 * 56 + 8)
        #expect(try openError(bytes) == "program header 1: offset/address plus size overflows 64 bits")
    }

    @Test func rejectsOverlappingSegments() throws {
        var bytes = PrintkRingFixture.core().bytes()
        let textOffset = bytes.littleEndian(UInt64.self, at: 64 + 56 + 8)!
        // Move the direct-map segment's data to start 16 bytes before the text segment's data ends.
        SyntheticCore.put(&bytes, textOffset + 4096 - 16, at: 64 + 2 * 56 + 8)
        #expect(
            try openError(bytes) == "program headers 1 and 2 overlap in the file: "
                + "\(hexText(Int(textOffset)))..<\(hexText(Int(textOffset) + 4096)) and "
                + "\(hexText(Int(textOffset) + 4080))..<\(hexText(Int(textOffset) + 4080 + 0x3000))")
    }

    @Test func rejectsNoteRunningPastItsSegment() throws {
        var bytes = PrintkRingFixture.core().bytes()
        // The first note's n_descsz claims 4096 bytes: more than the PT_NOTE segment holds.
        SyntheticCore.put(&bytes, UInt32(4096), at: 0xe8 + 4)
        let noteSize = PrintkRingFixture.core().notes.reduce(0) { $0 + $1.encoded().count }
        #expect(
            try openError(bytes) == "note at file offset 0xe8 ends at \(hexText(0xe8 + 20 + 4096)), past the end of "
                + "PT_NOTE segment 0 at \(hexText(0xe8 + noteSize))")
    }

    @Test func acceptsZeroPaddingAfterTheLastNote() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", PrintkRingFixture.core().bytes(noteSlack: 24)))
        defer { try? core.close() }
        #expect(core.notes.count == 3)
    }

    /// Padding is all zero to the end of the segment: a stray byte anywhere in it, even the last, is no padding.
    @Test func rejectsNonZeroByteInThePadding() throws {
        let noteSize = PrintkRingFixture.core().notes.reduce(0) { $0 + $1.encoded().count }
        for (slack, stray) in [(29, 28), (40, 37)] {
            var bytes = PrintkRingFixture.core().bytes(noteSlack: slack)
            #expect(try openError(bytes) == "opened")
            bytes[0xe8 + noteSize + stray] = 1
            let error = try openError(bytes)
            #expect(error.hasPrefix("note at file offset"), "\(slack) bytes of padding, byte \(stray) set: \(error)")
        }
    }

    @Test func rejectsShortPRStatus() throws {
        var synthetic = PrintkRingFixture.core()
        synthetic.notes[0].descriptor = Array(synthetic.notes[0].descriptor.prefix(200))
        #expect(try openError(synthetic.bytes()) == "NT_PRSTATUS note at file offset 0xe8 has 200 bytes, expected 336")
    }
}

func hexText(_ value: Int) -> String { "0x" + String(value, radix: 16) }
