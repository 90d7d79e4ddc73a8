import DumpFormat
import SystemCalls
import TestSupport
import Testing
import VMCore

/// Values a crashed kernel's memory or a damaged file can hold (issue 14's list, and what the fuzz targets found):
/// each is a precise error naming the field and the value, a lowered dump level with the reason, or a bounded
/// result, never a trap, a hang or an allocation the file cannot justify.
@Suite struct HostileInputTests {
    /// A core with the printk fixture's notes and `headers` in place of its program headers (notes untouched).
    func core(loads: [ProgramHeader]) -> [UInt8] {
        let base = PrintkRingFixture.core()
        let notes = base.notes.flatMap { $0.encoded() }
        let count = 1 + loads.count
        let noteOffset = UInt64(64 + 56 * count)
        var file = ELFHeader(type: 4, machine: 62, flags: 0, programHeaderOffset: 64, programHeaderCount: count)
            .encoded()
        file += ProgramHeader(
            type: 4, offset: noteOffset, fileSize: UInt64(notes.count), memorySize: UInt64(notes.count)
        )
        .encoded()
        for load in loads { file += load.encoded() }
        file += notes
        file += [UInt8](repeating: 0xab, count: 8192)
        return file
    }

    func openError(_ bytes: [UInt8]) throws -> String {
        let scratch = try TemporaryDirectory("vmcore")
        do {
            let core = try ELFCore.open(try scratch.write("vmcore", bytes))
            try? core.close()
            return "opened"
        } catch let error as ELFCoreError {
            return error.problem.description
        }
    }

    var dataOffset: UInt64 { UInt64(core(loads: []).count - 8192) + 56 }

    /// Found by the kdump fuzz target's profile: each empty note header in a run of zeros scanned to the segment's
    /// end for a stray byte, so 1 MiB of zeros ending in one took hours. Now one pass: a precise error at once.
    @Test(.timeLimit(.minutes(1))) func zerosEndingInAStrayByteAreNotScannedOverAndOver() throws {
        var synthetic = PrintkRingFixture.core()
        synthetic.notes = []  // the PT_NOTE segment, at 0xe8, is 1 MiB of zeros but its last byte
        let size = 1 << 20
        var bytes = synthetic.bytes(noteSlack: size)
        bytes[0xe8 + size - 1] = 1
        let last = 0xe8 + size / 12 * 12  // the last empty header's place: 4 bytes are left there
        #expect(
            try openError(bytes) == "note at file offset \(hexText(last)) ends at \(hexText(last + 12)), past the end "
                + "of PT_NOTE segment 0 at \(hexText(0xe8 + size))")
    }

    @Test func aPhysicalRangeNearTwoToThe64IsRefused() throws {
        let load = ProgramHeader(
            type: 1, offset: dataOffset, virtualAddress: 0xffff_8880_0000_0000,
            physicalAddress: 0xffff_ffff_ffff_f000, fileSize: 4096, memorySize: 4096)
        #expect(
            try openError(core(loads: [load])) == "program header 1: PT_LOAD p_paddr 0xfffffffffffff000 + p_memsz "
                + "0x1000 ends beyond 0x10000000000000, the x86_64 physical address limit")
    }

    @Test func aLoadAtTwoToThe56IsRefusedBeforeAnyBitmap() throws {
        let load = ProgramHeader(
            type: 1, offset: dataOffset, virtualAddress: 0xffff_8880_0000_0000,
            physicalAddress: 1 << 56, fileSize: 4096, memorySize: 4096)
        #expect(
            try openError(core(loads: [load])).hasSuffix(
                "ends beyond 0x10000000000000, the x86_64 physical address limit"))
    }

    @Test func aBitmapTheFileCannotJustifyIsRefused() throws {
        let load = ProgramHeader(
            type: 1, offset: dataOffset, virtualAddress: 0xffff_8880_0000_0000,
            physicalAddress: 1 << 51, fileSize: 4096, memorySize: 4096)
        let text = try openError(core(loads: [load]))
        #expect(
            text.hasPrefix(
                "program header 1: PT_LOAD frames reach pfn 0x8000000001, which needs a page bitmap of "
                    + "68719476736 bytes; a "))
    }

    @Test func aVirtualRangeEndingAtTwoToThe64ReadsWithoutTrapping() throws {
        let load = ProgramHeader(
            type: 1, offset: dataOffset, virtualAddress: 0xffff_ffff_ffff_f000,
            physicalAddress: 0x10_0000, fileSize: 4096, memorySize: 4096)
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", core(loads: [load])))
        defer { try? core.close() }
        #expect(try core.readVirtual(0xffff_ffff_ffff_fff0, count: 4, what: "top") == [0xab, 0xab, 0xab, 0xab])
        #expect(throws: (any Error).self) { _ = try core.readVirtual(0xffff_ffff_ffff_fffe, count: 4, what: "wrap") }
    }

    @Test func fileOffsetsBeyondOffTAreTruncationErrors() throws {
        let load = ProgramHeader(
            type: 1, offset: 1 << 63, virtualAddress: 0xffff_8880_0000_0000,
            physicalAddress: 0x10_0000, fileSize: 4096, memorySize: 4096)
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", core(loads: [load])))
        defer { try? core.close() }
        #expect(throws: ELFCoreError.self) { _ = try core.readVirtual(0xffff_8880_0000_0000, count: 8, what: "far") }
        // A PT_NOTE there is refused at open.
        var bytes = PrintkRingFixture.core().bytes()
        SyntheticCore.put(&bytes, UInt64(1) << 63, at: 64 + 8)
        #expect(try openError(bytes).hasPrefix("truncated: PT_NOTE segment 0 needs bytes 0x8000000000000000..<"))
    }

    @Test func aHugeNoteSegmentIsRefused() throws {
        var bytes = PrintkRingFixture.core().bytes()
        SyntheticCore.put(&bytes, UInt64(1) << 40, at: 64 + 32)
        #expect(
            try openError(bytes) == "PT_NOTE segment 0: p_filesz 0x10000000000 is larger than any vmcore's notes "
                + "(at most 0x4000000)")
    }

    @Test func writersRefuseATruncatedCoreInsteadOfDyingOrPaddingWithZeros() throws {
        // Cut by 1 byte, mmap would read the rest of the last page as zeros; by 5000, past it, SIGBUS.
        for cut in [1, 5000] {
            let scratch = try TemporaryDirectory("vmcore")
            let full = KdumpWriterTests.core().0.bytes()
            let core = try ELFCore.open(try scratch.write("vmcore", Array(full.dropLast(cut))))
            defer { try? core.close() }
            let selection = PageSelector.select(core, level: DumpLevel(0)!)
            for format in ["kdump", "elf"] {
                let output = try FileDescriptor.open(
                    scratch.path + "/out-\(format)", [.readWrite, .create], mode: 0o600)
                defer { try? output.close() }
                var statistics = WriteStatistics()
                let error = #expect(throws: ELFCoreError.self) {
                    if format == "kdump" {
                        try KdumpWriter(compression: .zstd).write(
                            core, selection: selection, excludeZeroPages: false,
                            to: output, statistics: &statistics)
                    } else {
                        try ELFCoreWriter().write(core, to: output, excludeZeroPages: false, statistics: &statistics)
                    }
                }
                // The ELF writer copies what there is first, under its incomplete flag; the kdump writer refuses.
                let what = format == "kdump" ? "PT_LOAD segment 1" : "PT_LOAD segment at physical address 0x1000000"
                #expect(error?.problem.description.hasPrefix("truncated: \(what) needs bytes") == true)
            }
        }
    }

    // MARK: VMCOREINFO values

    func printkError(_ changes: [String: String]) throws -> String {
        var text = PrintkRingFixture.vmcoreinfo
        for (key, value) in changes {
            text = text.split(separator: "\n").map { $0.hasPrefix(key + "=") ? key + "=" + value : String($0) }
                .joined(separator: "\n")
        }
        var synthetic = PrintkRingFixture.core()
        synthetic.notes[synthetic.notes.count - 1] = SyntheticCore.vmcoreinfo(text)
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", synthetic.bytes()))
        defer { try? core.close() }
        do {
            _ = try PrintkRing.records(of: core)
            return "decoded"
        } catch {
            return "\(error)"
        }
    }

    @Test func hugePrintkSizesAndOffsetsAreNamed() throws {
        #expect(
            try printkError(["SIZE(prb_desc)": "4611686018427387904"])
                == "VMCOREINFO entry SIZE(prb_desc)=4611686018427387904 is out of range, expected 1...65536 "
                + "(needed for decoding the printk ring)")
        #expect(
            try printkError(["OFFSET(atomic_long_t.counter)": "9223372036854775807"])
                == "VMCOREINFO entry OFFSET(atomic_long_t.counter)=9223372036854775807 is out of range, expected 0...65535 "
                + "(needed for decoding the printk ring)")
        #expect(
            try printkError(["OFFSET(prb_desc.state_var)": "-8"])
                == "VMCOREINFO entry OFFSET(prb_desc.state_var)=-8 is out of range, expected 0...65535 "
                + "(needed for decoding the printk ring)")
    }

    @Test func aRingOfTwoToThe30DescriptorsIsRefusedBeforeAllocating() throws {
        var synthetic = PrintkRingFixture.core()
        SyntheticCore.put(&synthetic.segments[1].data, UInt32(30), at: 0)  // count_bits
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", synthetic.bytes()))
        defer { try? core.close() }
        #expect(throws: PrintkError.absurdRing(what: "the descriptor count", bits: 30)) {
            try PrintkRing.records(of: core)
        }
        SyntheticCore.put(&synthetic.segments[1].data, UInt32(31), at: 48)  // size_bits
        SyntheticCore.put(&synthetic.segments[1].data, UInt32(26), at: 0)
        let second = try ELFCore.open(try scratch.write("vmcore2", synthetic.bytes()))
        defer { try? second.close() }
        #expect(
            throws: PrintkError.oversizedRing(
                descriptors: 1 << 26, descriptorBytes: 24, infoBytes: 88,
                dataBytes: 1 << 31)
        ) { try PrintkRing.records(of: second) }
        // Within the ring limits, but more than the file holds.
        SyntheticCore.put(&synthetic.segments[1].data, UInt32(24), at: 48)
        SyntheticCore.put(&synthetic.segments[1].data, UInt32(22), at: 0)
        let third = try ELFCore.open(try scratch.write("vmcore3", synthetic.bytes()))
        defer { try? third.close() }
        #expect(throws: OversizedReadError.self) { try PrintkRing.records(of: third) }
    }

    // MARK: The page walk

    func walk(
        _ changes: [String: String] = [:], removing: Set<String> = [], buddyOrder: UInt64 = 2
    )
        throws -> PageSelection
    {
        let synthetic = PageWalkFixture.core(
            vmcoreinfo: PageWalkFixture.vmcoreinfo(replacing: changes, removing: removing),
            memory: PageWalkFixture.memory(buddyOrder: buddyOrder))
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", synthetic.bytes()))
        defer { try? core.close() }
        return PageSelector.select(core, level: DumpLevel(31)!, threads: 2)
    }

    @Test func theFixtureWalksMemSectionsPageTablesAndStructPages() throws {
        let selection = try walk()
        #expect(selection.level.applied == 31)
        #expect(selection.warnings.isEmpty)
        #expect(selection.count(.free) == 4)
        #expect(selection.count(.user) == 1)
        #expect(selection.count(.cache) == 1)
        #expect((0..<64).filter { !selection.kept.contains($0) } == [32, 33, 34, 35, 40, 41])
    }

    static let badWalkValues: [(key: String, value: String, expected: String)] = [
        ("SIZE(mem_section)", "0", "8...4096"),
        ("SIZE(mem_section)", "1099511627776", "8...4096"),
        ("NUMBER(SECTION_SIZE_BITS)", "11", "24...46"),
        ("NUMBER(SECTION_SIZE_BITS)", "-5", "24...46"),
        ("PAGESIZE", "0", "4096...4096"),
        ("NUMBER(MAX_PHYSMEM_BITS)", "20", "32...52"),
        ("NUMBER(MAX_PHYSMEM_BITS)", "30000", "32...52"),
        ("NUMBER(PG_lru)", "-1", "0...63"),
        ("NUMBER(PG_slab)", "64", "0...63"),
        ("LENGTH(zone.free_area)", "-1", "1...32"),
        ("LENGTH(zone.free_area)", "100", "1...32"),
        ("OFFSET(page.compound_order)", "100000", "0...63"),
        ("OFFSET(page.compound_dtor)", "-3", "0...63"),
        ("OFFSET(page.private)", "60", "0...56"),
        ("LENGTH(mem_section)", "-2048", "1...524288"),
    ]

    @Test(arguments: badWalkValues)
    func anOutOfRangeWalkValueLowersTheLevelNamingIt(_ bad: (key: String, value: String, expected: String)) throws {
        let selection = try walk([bad.key: bad.value])
        #expect(selection.level.applied == 1)
        #expect(selection.warnings.count == 1)
        #expect(
            selection.warnings.first?.contains(
                "VMCOREINFO entry \(bad.key)=\(bad.value) is out of range, expected \(bad.expected)") == true)
    }

    @Test func aRootPageTableAtTheTopOfTheAddressSpaceIsAnErrorNotATrap() throws {
        let selection = try walk(["SYMBOL(init_top_pgt)": "ffffffffffffffff"])
        #expect(selection.level.applied == 1)
        #expect(selection.warnings.first?.contains("is not in any PT_LOAD segment") == true)
        let synthetic = PageWalkFixture.core(
            vmcoreinfo: PageWalkFixture.vmcoreinfo(
                replacing: ["SYMBOL(init_top_pgt)": "ffffffffffffffff"]))
        let scratch = try TemporaryDirectory("vmcore")
        let core = try ELFCore.open(try scratch.write("vmcore", synthetic.bytes()))
        defer { try? core.close() }
        #expect(throws: UnmappedAddressError.self) { _ = try core.translateThroughPageTables(0xffff_c900_0000_0000) }
    }

    @Test(arguments: [UInt64(11), 64, 65, 200, UInt64.max])
    func aBuddyOrderBeyondTheFreeAreaIsKeptAndTheWalkEnds(_ order: UInt64) throws {
        let selection = try walk(buddyOrder: order)
        #expect(selection.level.applied == 31)
        #expect(selection.count(.free) == 0)
        #expect(selection.kept.contains(32))
        #expect(
            selection.warnings == [
                "1 free pages had an order beyond LENGTH(zone.free_area) or were not aligned to their block's size, "
                    + "and were kept"
            ])
    }

    @Test func aBuddyOrderNearTheShiftWidthWithALargeFreeAreaEnds() throws {
        // LENGTH(zone.free_area)=32 is the largest accepted: order 31 is a block of 2^31 frames, which frame 32
        // cannot start (a block starts on a multiple of its size): kept. Order 5 there is a block up to the end.
        let selection = try walk(["LENGTH(zone.free_area)": "32"], buddyOrder: 31)
        #expect(selection.level.applied == 31)
        #expect(selection.count(.free) == 0)
        #expect(selection.kept.contains(32))
        #expect(selection.warnings.count == 1)
        #expect(try walk(["LENGTH(zone.free_area)": "32"], buddyOrder: 5).count(.free) == 32)
    }

    @Test func pageLayoutNamesANegativeBit() throws {
        let info = VMCoreInfo(Array(PageWalkFixture.vmcoreinfo(replacing: ["NUMBER(PG_swapcache)": "-7"]).utf8))
        #expect(
            throws: VMCoreInfoError(
                key: "NUMBER(PG_swapcache)", value: "-7",
                purpose: "classifying pages from struct page (a bit of page.flags)", expected: "0...63")
        ) {
            _ = try PageLayout(info)
        }
    }

    // MARK: kdump files

    func kdumpFile(_ synthetic: SyntheticCore, in scratch: TemporaryDirectory, level: Int = 0) throws -> String {
        let input = try ELFCore.open(try scratch.write("input", synthetic.bytes()))
        defer { try? input.close() }
        let path = scratch.path + "/vmcore.kdump"
        let output = try FileDescriptor.open(path, [.readWrite, .create, .exclusive], mode: 0o600)
        defer { try? output.close() }
        var statistics = WriteStatistics()
        try KdumpWriter(compression: .zstd).write(
            input, selection: PageSelector.select(input, level: DumpLevel(level)!),
            excludeZeroPages: false, to: output, statistics: &statistics)
        return path
    }

    @Test func aKdumpRootPageTableOutsideTheImageIsAnErrorNotEndlessRecursion() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let path = try kdumpFile(PageWalkFixture.core(), in: scratch)
        let reader = try KdumpReader.open(path)
        defer { try? reader.close() }
        // init_top_pgt is in the direct map, which a kdump file can only reach through the page tables themselves.
        #expect(throws: UnmappedAddressError.self) {
            _ = try reader.readVirtual(0xffff_c900_0000_0000, count: 8, what: "x")
        }
        #expect(throws: UnmappedAddressError.self) {
            _ = try reader.readVirtual(PageWalkFixture.vmemmap, count: 8, what: "y")
        }
    }

    @Test func corruptKdumpHeaderCountsAreNamed() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let path = try kdumpFile(KdumpWriterTests.core().0, in: scratch)
        let good = try FileSystem.readBytes(path)
        func error(_ edit: (inout [UInt8]) -> Void) throws -> String {
            var bytes = good
            edit(&bytes)
            let file = try scratch.write("edited", bytes)
            do {
                let reader = try KdumpReader.open(file)
                try? reader.close()
                return "opened"
            } catch let error as KdumpReader.FormatError {
                return error.problem
            }
        }
        #expect(
            try error { SyntheticCore.put(&$0, Int32(-5), at: 432) }.hasPrefix(
                "sub_hdr_size -5 at offset 432 is not 1 to"))
        #expect(
            try error { SyntheticCore.put(&$0, UInt32.max, at: 436) }.hasPrefix(
                "bitmap_blocks 4294967295 at offset 436"))
        #expect(
            try error { SyntheticCore.put(&$0, UInt64(1) << 50, at: 4096 + 96) }
                .hasPrefix("max_mapnr 1125899906842624 at offset 4192 needs more than the"))
        let truncated = try error { $0 = Array($0.prefix(5000)) }
        #expect(
            truncated.hasPrefix("bitmap_blocks ")
                && truncated.hasSuffix("is more than 0 (the file's blocks after the sub header)"))
    }

    @Test func aPageDescriptorClaimingGigabytesIsRefusedBeforeReading() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let path = try kdumpFile(KdumpWriterTests.core().0, in: scratch)
        var bytes = try FileSystem.readBytes(path)
        let reader = try KdumpReader.open(path)
        let pfn = (0..<reader.dumped.count).first { reader.dumped.contains($0) }!
        try reader.close()
        // The first page_desc follows the two bitmaps: its size word at +8.
        let header = bytes.littleEndian(Int32.self, at: 432)!
        let bitmapBlocks = bytes.littleEndian(UInt32.self, at: 436)!
        let descriptors = Int(1 + header + Int32(bitmapBlocks)) * 4096
        SyntheticCore.put(&bytes, UInt32.max, at: descriptors + 8)
        let edited = try KdumpReader.open(try scratch.write("edited", bytes))
        defer { try? edited.close() }
        #expect(throws: KdumpReader.FormatError.self) { _ = try edited.page(pfn) }
    }

    // MARK: kallsyms

    @Test func aSymbolExpandingBeyondKsymNameLenIsMalformed() throws {
        var table: [UInt8] = []
        var index: [UInt16] = []
        for token in 0..<256 {
            index.append(UInt16(table.count))
            table += [UInt8](repeating: UInt8(ascii: "a"), count: token == 0 ? 200 : 1) + [0]
        }
        let names: [UInt8] = [0x80 | 10, 0] + [UInt8](repeating: 0, count: 10)  // 10 tokens of 200 bytes
        #expect(throws: KallsymsError.self) {
            _ = try Kallsyms.decode(
                count: 1,
                readNames: { offset, count in
                    Array(names.dropFirst(offset).prefix(count))
                }, tokenTable: table, tokenIndex: index, offsets: [0], relativeBase: 0xffff_ffff_8100_0000)
        }
    }

    @Test func namesThatNeverEndStopAtTheLimit() throws {
        let table = (0..<256).flatMap { _ in [UInt8(ascii: "t"), 0] }
        let index = (0..<256).map { UInt16($0 * 2) }
        // Every symbol: a two-byte length of 903 tokens, each "t": the names would run to 3.6 GB for 4M symbols.
        let entry: [UInt8] = [0x87, 0x07] + [UInt8](repeating: 1, count: 903)
        let error = #expect(throws: KallsymsError.self) {
            _ = try Kallsyms.decode(
                count: 4_000_000,
                readNames: { offset, count in
                    (offset..<(offset + count)).map { entry[$0 % entry.count] }
                }, tokenTable: table, tokenIndex: index, offsets: [Int32](repeating: 0, count: 4_000_000),
                relativeBase: 0,
                namesLimit: 1 << 20)  // the real limit is 64 MiB: the same loop, 64 times longer
        }
        #expect(
            error.map { "\($0)" }?.contains("kallsyms_names runs past 1048576 bytes before symbol 1158 of 4000000")
                == true)
    }
}
