import DumpFormat
import Foundation  // tests only: Process, to run the reference tools
import SystemCalls
import TestSupport
import Testing
import VMCore

@Suite struct ELFCoreWriterTests {
    /// A core whose direct-map segment has zero pages between non-zero ones, and a partial last page.
    static func sparseCore() -> SyntheticCore {
        var core = PrintkRingFixture.core()
        var memory = [UInt8](repeating: 0, count: 6 * 4096 + 100)
        memory[0] = 1  // page 0 non-zero
        memory[2 * 4096 + 4095] = 2  // page 2 non-zero in its last byte
        memory[3 * 4096] = 3  // page 3 non-zero; pages 1, 4, 5 zero, partial page 6 zero
        core.segments.append(
            .init(
                virtualAddress: SyntheticCore.pageOffset + 0x0100_0000, physicalAddress: 0x0100_0000,
                data: memory))
        return core
    }

    func write(
        _ synthetic: SyntheticCore, excludeZeroPages: Bool, windowSize: Int = 8192,
        layout: ELFCoreWriter.Layout = .packed, zeroRunPages: UInt64? = nil
    )
        throws -> (TemporaryDirectory, input: ELFCore, output: String, WriteStatistics)
    {
        let scratch = try TemporaryDirectory("vmcore")
        let input = try ELFCore.open(try scratch.write("input", synthetic.bytes()))
        let outputPath = scratch.path + "/vmcore"
        let output = try FileDescriptor.open(outputPath, [.readWrite, .create, .exclusive, .noFollow], mode: 0o600)
        defer { try? output.close() }
        var statistics = WriteStatistics()
        var writer = ELFCoreWriter(windowSize: windowSize, readBufferSize: 4096, layout: layout)
        if let zeroRunPages { writer.zeroRunPages = zeroRunPages }
        try writer.write(input, to: output, excludeZeroPages: excludeZeroPages, statistics: &statistics)
        return (scratch, input, outputPath, statistics)
    }

    @Test(arguments: [4096, 8192, 64 << 20])
    func sparseLayoutLeavesZeroPagesAsHolesAndReadsBackUnchanged(windowSize: Int) throws {
        let (scratch, input, outputPath, statistics) = try write(
            Self.sparseCore(), excludeZeroPages: true, windowSize: windowSize, layout: .sparse)
        _ = scratch
        defer { try? input.close() }
        let output = try ELFCore.open(outputPath)
        defer { try? output.close() }
        #expect(output.header.flags == 0)
        #expect(output.programHeaders.filter { $0.type == ProgramHeader.typeNote }.count == 1)
        #expect(
            output.notes
                == input.notes.map {
                    ELFNote(
                        name: $0.name, type: $0.type, descriptor: $0.descriptor,
                        fileOffset: $0.fileOffset - input.programHeaders[0].offset + output.programHeaders[0].offset)
                })
        #expect(output.cpus == input.cpus)
        #expect(output.vmcoreInfo == input.vmcoreInfo)
        let inLoads = input.loadSegments.map(\.header)
        let outLoads = output.loadSegments.map(\.header)
        #expect(outLoads.map(\.virtualAddress) == inLoads.map(\.virtualAddress))
        #expect(outLoads.map(\.physicalAddress) == inLoads.map(\.physicalAddress))
        #expect(outLoads.map(\.memorySize) == inLoads.map(\.memorySize))
        for (a, b) in zip(inLoads, outLoads) {
            #expect(b.offset % 4096 == b.physicalAddress % 4096)
            let original = try input.readBytes(atFileOffset: a.offset, count: Int(a.fileSize), what: "in")
            let copy = try output.readBytes(atFileOffset: b.offset, count: Int(b.fileSize), what: "out")
            #expect(original == copy)
        }
        // text 1 page, direct 3 pages (one all zero? no: 0x3000 holds the ring in page 0 and zeros in 1, 2),
        // sparse 7 pages of which 1, 4, 5, 6 are zero.
        #expect(statistics.totalPages == 1 + 3 + 7)
        #expect(statistics.excludedZeroPages == 2 + 4)
        #expect(statistics.writtenPages == 11 - 6)
        let status = try #require(try FileSystem.status(outputPath))
        #expect(status.size == statistics.outputSize)
        #expect(status.allocatedBytes < status.size)
        #expect(status.permissions == 0o600)
    }

    /// The default layout: zero runs shorter than `zeroRunPages` are stored, so every input segment is one output
    /// segment with the same bytes, and the file has no holes.
    @Test(arguments: [4096, 8192, 64 << 20])
    func packedLayoutStoresZeroPagesAndHasNoHoles(windowSize: Int) throws {
        let (scratch, input, outputPath, statistics) = try write(
            Self.sparseCore(), excludeZeroPages: true, windowSize: windowSize)
        _ = scratch
        defer { try? input.close() }
        let output = try ELFCore.open(outputPath)
        defer { try? output.close() }
        #expect(output.header.flags == 0)
        #expect(output.cpus == input.cpus)
        #expect(output.vmcoreInfo == input.vmcoreInfo)
        #expect(try PrintkRing.records(of: output) == PrintkRing.records(of: input))
        let loads = output.loadSegments.map(\.header)
        let inputLoads = input.loadSegments.map(\.header)
        #expect(loads.map(\.physicalAddress).sorted() == inputLoads.map(\.physicalAddress).sorted())
        #expect(loads.allSatisfy { $0.fileSize == $0.memorySize })
        for load in inputLoads {
            #expect(
                try output.readVirtual(load.virtualAddress, count: Int(load.fileSize), what: "out")
                    == input.readVirtual(load.virtualAddress, count: Int(load.fileSize), what: "in"))
        }
        for load in loads { #expect(load.offset % 4096 == load.physicalAddress % 4096) }
        #expect(statistics.excludedZeroPages == 0)
        #expect(statistics.writtenPages == 11)
        let status = try #require(try FileSystem.status(outputPath))
        #expect(status.size == statistics.outputSize)
        // No holes: every block of the file is allocated (the last one may be partial).
        #expect(status.allocatedBytes >= status.size)
        #expect(statistics.readMethod == "mmap" || statistics.readMethod == "read")
    }

    /// A core whose segment at 16 MiB is a non-zero page, `zeros` zero pages and a non-zero page.
    static func zeroRunCore(zeros: Int) -> SyntheticCore {
        var core = PrintkRingFixture.core()
        var memory = [UInt8](repeating: 0, count: (zeros + 2) * 4096)
        memory[0] = 1
        memory[memory.count - 1] = 2
        core.segments.append(
            .init(
                virtualAddress: SyntheticCore.pageOffset + 0x0100_0000, physicalAddress: 0x0100_0000,
                data: memory))
        return core
    }

    /// A zero run shorter than `zeroRunPages` is stored as data; a longer one (here in the middle of a segment and
    /// at its end) becomes a load with no file data, listed after every data load (makedumpfile's mmap reader takes
    /// the first load whose `p_offset + p_memsz` covers a file offset as the one holding it), and reads as zeros,
    /// so every address of the input stays readable with the input's bytes, and the file has no holes.
    @Test(arguments: [4096, 8192, 64 << 20])
    func packedLayoutKeepsLongZeroRunsOutOfTheFile(windowSize: Int) throws {
        var synthetic = Self.zeroRunCore(zeros: 300)
        // A second segment: 20 zero pages, a non-zero page, 8 zero pages (stored: shorter than the threshold).
        var tail = [UInt8](repeating: 0, count: 29 * 4096)
        tail[20 * 4096 + 7] = 9
        synthetic.segments.append(
            .init(virtualAddress: SyntheticCore.pageOffset + 0x0300_0000, physicalAddress: 0x0300_0000, data: tail))
        let (scratch, input, outputPath, statistics) = try write(
            synthetic, excludeZeroPages: true, windowSize: windowSize, zeroRunPages: 16)
        _ = scratch
        defer { try? input.close() }
        let output = try ELFCore.open(outputPath)
        defer { try? output.close() }
        let added: [Range<UInt64>] = [0x0100_0000..<0x0112_E000, 0x0300_0000..<0x0301_D000]
        let loads = output.loadSegments.map(\.header).filter { load in
            added.contains { $0.contains(load.physicalAddress) }
        }
        let layout: [[UInt64]] = loads.map { [$0.physicalAddress, $0.fileSize, $0.memorySize] }
        let page: UInt64 = 4096
        let expected: [[UInt64]] = [
            [0x0100_0000, page, page], [0x0112_D000, page, page], [0x0301_4000, 9 * page, 9 * page],
            [0x0100_1000, 0, 300 * page], [0x0300_0000, 0, 20 * page],
        ]
        #expect(layout == expected)
        #expect(loads.filter { $0.fileSize == 0 }.allSatisfy { $0.offset == 0 })
        #expect(statistics.excludedZeroPages == 320)
        #expect(statistics.writtenPages == 4 + 2 + 9)  // the printk fixture's 4 pages, then the two segments
        for segment in synthetic.segments {
            #expect(
                try output.readPhysical(segment.physicalAddress, count: segment.data.count, what: "out")
                    == segment.data)
        }
        let status = try #require(try FileSystem.status(outputPath))
        #expect(status.allocatedBytes >= status.size)
        #expect(status.size < 40 * 4096)
    }

    /// With `zeroRunPages` at its default, a run of 300 zero pages is stored as data.
    @Test func packedLayoutStoresShorterZeroRuns() throws {
        let (scratch, input, outputPath, statistics) = try write(Self.zeroRunCore(zeros: 300), excludeZeroPages: true)
        _ = scratch
        defer { try? input.close() }
        let output = try ELFCore.open(outputPath)
        defer { try? output.close() }
        let loads = output.loadSegments.map(\.header).filter {
            (0x0100_0000..<0x0200_0000).contains($0.physicalAddress)
        }
        #expect(loads.map(\.fileSize) == [302 * 4096])
        #expect(statistics.excludedZeroPages == 0)
    }

    /// More than 65,534 headers: e_phnum is PN_XNUM and section header 0 holds the count; our reader and
    /// readelf read it back.
    @Test func manySegmentsUseExtendedNumbering() throws {
        let count = 70_000
        let header = ELFHeader(
            type: 4, machine: 62, flags: 0, programHeaderOffset: 64, programHeaderCount: count,
            sectionHeaderOffset: UInt64(64 + count * 56 + count * 8))
        var bytes = header.encoded()
        #expect(bytes.littleEndian(UInt16.self, at: 56) == 0xffff)
        #expect(bytes.littleEndian(UInt16.self, at: 60) == 1)
        let dataOffset = UInt64(64 + count * 56)
        bytes += ProgramHeader(type: ProgramHeader.typeNote, offset: dataOffset, fileSize: 0, memorySize: 0).encoded()
        for index in 1..<count {
            let physical = UInt64(index) * 0x2000
            bytes +=
                ProgramHeader(
                    type: ProgramHeader.typeLoad, offset: dataOffset + UInt64(index) * 8,
                    virtualAddress: SyntheticCore.pageOffset + physical, physicalAddress: physical, fileSize: 8,
                    memorySize: 8
                ).encoded()
        }
        bytes += [UInt8](repeating: 0, count: count * 8)
        bytes += ELFHeader.extendedNumberingSection(programHeaderCount: count)
        let scratch = try TemporaryDirectory("xnum")
        let path = try scratch.write("core", bytes)
        let core = try ELFCore.open(path)
        defer { try? core.close() }
        #expect(core.programHeaders.count == count)
        #expect(core.header.sectionHeaderOffset == UInt64(64 + count * 56 + count * 8))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/readelf") {
            #expect(
                try run("/usr/bin/readelf", ["-h", path]).contains("Number of program headers:         65535 (70000)"))
        }
    }

    @Test func levelZeroWritesEveryPage() throws {
        let (scratch, input, outputPath, statistics) = try write(Self.sparseCore(), excludeZeroPages: false)
        _ = scratch
        defer { try? input.close() }
        #expect(statistics.excludedZeroPages == 0)
        #expect(statistics.writtenPages == 11)
        let status = try #require(try FileSystem.status(outputPath))
        #expect(status.allocatedBytes >= status.size - 4096)
    }

    /// Writes `synthetic` keeping only the frames of `keep` (every other frame of the input left out).
    func writeFiltered(
        _ synthetic: SyntheticCore, keeping frames: [UInt64], layout: ELFCoreWriter.Layout = .packed
    )
        throws -> (TemporaryDirectory, input: ELFCore, output: ELFCore, WriteStatistics)
    {
        let scratch = try TemporaryDirectory("vmcore")
        let input = try ELFCore.open(try scratch.write("input", synthetic.bytes()))
        var keep = PageBitmap(count: 0x3000)
        for frame in frames { keep.insert(frame) }
        let outputPath = scratch.path + "/vmcore"
        let output = try FileDescriptor.open(outputPath, [.readWrite, .create, .exclusive, .noFollow], mode: 0o600)
        defer { try? output.close() }
        var statistics = WriteStatistics()
        try ELFCoreWriter(windowSize: 8192, readBufferSize: 4096, layout: layout)
            .write(input, to: output, excludeZeroPages: true, keep: keep, statistics: &statistics)
        return (scratch, input, try ELFCore.open(outputPath), statistics)
    }

    @Test func leftOutFramesTakeNoRoomAndCannotBeRead() throws {
        // Frames: text 0x2000; direct map 0x100...0x102; sparse 0x1000...0x1006 (0x1006 partial). Left out:
        // 0x1001, 0x1002, 0x1004, 0x1005.
        let kept: [UInt64] = [0x2000, 0x100, 0x101, 0x102, 0x1000, 0x1003, 0x1006]
        let (scratch, input, output, statistics) = try writeFiltered(Self.sparseCore(), keeping: kept)
        _ = scratch
        defer {
            try? input.close()
            try? output.close()
        }
        let loads = output.loadSegments.map(\.header)
        #expect(loads.map(\.physicalAddress) == [0x0200_0000, 0x0010_0000, 0x0100_0000, 0x0100_3000, 0x0100_6000])
        // Direct-map pages 1 and 2 are zero: only page 0 is stored.
        // Direct-map pages 1 and 2 are zero, a run too short to leave out: stored.
        #expect(loads.map(\.fileSize) == [4096, 3 * 4096, 4096, 4096, 100])
        #expect(loads.map(\.memorySize) == [4096, 3 * 4096, 4096, 4096, 100])
        #expect(
            loads.map { $0.virtualAddress &- $0.physicalAddress }
                == [PrintkRingFixture.textBase - 0x0200_0000] + [UInt64](repeating: SyntheticCore.pageOffset, count: 4))
        for load in loads { #expect(load.offset % 4096 == load.physicalAddress % 4096) }
        // Packed: header page, direct map 3, sparse 1 + 1 + partial 1, text 1: 8 pages where the input had 12.
        #expect(output.fileSize == loads.map { $0.offset + $0.fileSize }.max())
        #expect(output.fileSize == 8 * 4096)
        for address in [0x0100_0000, 0x0100_3000] as [UInt64] {
            let virtual = SyntheticCore.pageOffset + address
            #expect(
                try output.readVirtual(virtual, count: 4096, what: "kept")
                    == input.readVirtual(virtual, count: 4096, what: "original"))
        }
        #expect(throws: UnmappedAddressError.self) {
            try output.readVirtual(SyntheticCore.pageOffset + 0x0100_1000, count: 8, what: "left out")
        }
        #expect(try PrintkRing.records(of: output) == PrintkRing.records(of: input))
        #expect(statistics.totalPages == 11)
        #expect(statistics.excludedFilteredPages == 4)
        #expect(statistics.excludedZeroPages == 0)
        #expect(statistics.writtenPages == 7)
    }

    @Test func runsAreJoinedAcrossGapsWhenThereWouldBeTooManySegments() throws {
        let kept: [UInt64] = [0x2000, 0x100, 0x101, 0x102, 0x1000, 0x1003, 0x1006]
        let (scratch, input, output, statistics) = try writeFiltered(
            Self.sparseCore(), keeping: kept, layout: .sparse(maximumLoads: 3))
        _ = scratch
        defer {
            try? input.close()
            try? output.close()
        }
        let loads = output.loadSegments.map(\.header)
        #expect(loads.map(\.physicalAddress) == [0x0200_0000, 0x0010_0000, 0x0100_0000])
        #expect(loads[2].fileSize == 6 * 4096 + 100)
        // Left-out frames inside a joined run are holes: they read as zero, not as the original bytes.
        #expect(try output.readVirtual(SyntheticCore.pageOffset + 0x0100_2000 + 4095, count: 1, what: "gap") == [0])
        #expect(try input.readVirtual(SyntheticCore.pageOffset + 0x0100_2000 + 4095, count: 1, what: "gap") == [2])
        #expect(statistics.excludedFilteredPages == 4)
        #expect(statistics.writtenPages == 4)
    }

    /// Writes the fixture's core, with 4 direct-map frames from 0x1000 and a second kernel text mapping over frames
    /// 0x1001 and 0x1002, keeping `kept`; hands `check` the output, its loads and the direct map's bytes.
    func writeDirectMapWithText(
        keeping kept: [UInt64], _ check: (ELFCore, [ProgramHeader], [UInt8]) throws -> Void
    ) throws {
        var synthetic = PrintkRingFixture.core()
        var memory = [UInt8](repeating: 0, count: 4 * 4096)
        for index in memory.indices { memory[index] = UInt8(truncatingIfNeeded: index / 7 + 1) }
        synthetic.segments.append(
            .init(
                virtualAddress: SyntheticCore.pageOffset + 0x0100_0000, physicalAddress: 0x0100_0000,
                data: memory))
        synthetic.segments.append(
            .init(
                virtualAddress: 0xffff_ffff_8200_0000, physicalAddress: 0x0100_1000,
                data: Array(memory[4096..<(3 * 4096)])))
        let (scratch, input, output, _) = try writeFiltered(synthetic, keeping: kept)
        _ = scratch
        defer {
            try? input.close()
            try? output.close()
        }
        try check(output, output.loadSegments.map(\.header), memory)
    }

    @Test func kernelTextFramesInTheDirectMapAreStoredOnce() throws {
        try writeDirectMapWithText(keeping: [0x2000, 0x100, 0x101, 0x102, 0x1000, 0x1001, 0x1002, 0x1003]) {
            output, loads, memory in
            let direct = try #require(loads.first { $0.physicalAddress == 0x0100_0000 })
            let text = try #require(loads.first { $0.virtualAddress == 0xffff_ffff_8200_0000 })
            #expect(text.offset == direct.offset + 4096)
            #expect(
                try output.readVirtual(0xffff_ffff_8200_0000, count: 2 * 4096, what: "text")
                    == Array(memory[4096..<(3 * 4096)]))
            // The header page, the fixture's 3 direct-map pages and text page, the 4 new pages: 2 text pages not
            // again.
            #expect(output.fileSize == 9 * 4096)
        }
    }

    /// A frame of the kernel text mapping that the selection leaves out (init memory the kernel freed and reused) is
    /// left out of the text mapping too: the mapping keeps only its kept frames, pointing at the direct map's bytes.
    @Test func kernelTextFramesLeftOutAreLeftOutOfTheTextMapping() throws {
        try writeDirectMapWithText(keeping: [0x2000, 0x100, 0x101, 0x102, 0x1000, 0x1002, 0x1003]) {
            output, loads, memory in
            let text = loads.filter(\.mapsKernelText).filter { $0.virtualAddress >= 0xffff_ffff_8200_0000 }
            #expect(text.map { [$0.physicalAddress, $0.fileSize] } == [[0x0100_2000, 4096]])
            let direct = try #require(loads.first { $0.physicalAddress == 0x0100_2000 && !$0.mapsKernelText })
            #expect(text.first?.offset == direct.offset)
            #expect(
                try output.readVirtual(0xffff_ffff_8200_1000, count: 4096, what: "text")
                    == Array(memory[(2 * 4096)..<(3 * 4096)]))
        }
    }

    /// The kernel text mapping's zero runs are the direct map's, clipped to its frames: the text load is not read
    /// again (its own input bytes here differ, and are never stored), its pieces point at the direct map's bytes,
    /// and its run reads back as zeros.
    @Test func kernelTextTakesItsZeroRunsFromTheDirectMap() throws {
        var synthetic = PrintkRingFixture.core()
        var memory = [UInt8](repeating: 0, count: 40 * 4096)
        for index in 0..<(4 * 4096) { memory[index] = UInt8(truncatingIfNeeded: index / 5 + 1) }
        for index in (30 * 4096)..<memory.count { memory[index] = UInt8(truncatingIfNeeded: index / 3 + 2) }
        synthetic.segments.append(
            .init(virtualAddress: SyntheticCore.pageOffset + 0x0100_0000, physicalAddress: 0x0100_0000, data: memory))
        // The text mapping over direct-map frames 0x1002 to 0x1020: the zero run of frames 0x1004 to 0x101d inside.
        // Its own bytes are not zero: read, they would leave no run, and the load would be stored on its own.
        synthetic.segments.append(
            .init(
                virtualAddress: 0xffff_ffff_8200_0000, physicalAddress: 0x0100_2000,
                data: [UInt8](repeating: 0x5a, count: 30 * 4096)))
        let (scratch, input, outputPath, statistics) = try write(
            synthetic, excludeZeroPages: true, windowSize: 8192, zeroRunPages: 16)
        _ = scratch
        defer { try? input.close() }
        let output = try ELFCore.open(outputPath)
        defer { try? output.close() }
        let text = output.loadSegments.map(\.header).filter(\.mapsKernelText)
            .filter { (0x0100_0000..<0x0200_0000).contains($0.physicalAddress) }
        let page: UInt64 = 4096
        #expect(
            text.map { [$0.physicalAddress, $0.fileSize, $0.memorySize] } == [
                [0x0100_2000, 2 * page, 2 * page], [0x0101_E000, 2 * page, 2 * page], [0x0100_4000, 0, 26 * page],
            ])
        let direct = try #require(output.loadSegments.map(\.header).first { $0.physicalAddress == 0x0100_0000 })
        #expect(text[0].offset == direct.offset + 2 * page)
        #expect(
            try output.readVirtual(0xffff_ffff_8200_0000, count: 30 * 4096, what: "text")
                == Array(memory[(2 * 4096)..<(32 * 4096)]))
        #expect(statistics.excludedZeroPages == 26)
        // The header page, the fixture's 4 pages, the direct map's 4 + 10 data pages: no text page of its own.
        #expect(output.fileSize == 19 * page)
    }

    @Test func truncatedInputKeepsTheIncompleteFlagAndNamesTheSegment() throws {
        let full = Self.sparseCore().bytes()
        let scratch = try TemporaryDirectory("vmcore")
        let input = try ELFCore.open(try scratch.write("input", Array(full.prefix(full.count - 5000))))
        defer { try? input.close() }
        let outputPath = scratch.path + "/vmcore"
        let output = try FileDescriptor.open(outputPath, [.readWrite, .create, .exclusive], mode: 0o600)
        defer { try? output.close() }
        var statistics = WriteStatistics()
        let expected = ELFCoreError(
            path: input.path,
            .truncated(
                what: "PT_LOAD segment at physical address 0x1000000",
                offset: input.programHeaders[3].offset, needed: 6 * 4096 + 100, fileSize: UInt64(full.count - 5000)))
        #expect(throws: expected) {
            try ELFCoreWriter(windowSize: 8192).write(
                input, to: output, excludeZeroPages: true, statistics: &statistics)
        }
        let header = try FileSystem.readBytes(outputPath, limit: 64)
        #expect(header.littleEndian(UInt32.self, at: 48) == ELFHeader.flagIncomplete)
        // The sparse segment keeps 6 * 4096 + 100 - 5000 = 4 pages + 3292 bytes: 5 pages, the last one partial.
        // Segments go in file order (a stream only moves forward): the direct map's 3 pages, then the sparse
        // segment's 5, where it stops; the text page, placed after the direct map, is not reached.
        #expect(statistics.totalPages == 3 + 5)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/vmcore-dmesg")))
    func vmcoreDmesgPrintsOurDecodingFromInputAndOutput() throws {
        let (scratch, input, outputPath, _) = try write(Self.sparseCore(), excludeZeroPages: true)
        _ = scratch
        defer { try? input.close() }
        let ours = String(decoding: DmesgFormat.text(try PrintkRing.records(of: input)), as: UTF8.self)
        #expect(ours == PrintkRingFixture.expectedDmesg)
        #expect(try run("/usr/sbin/vmcore-dmesg", [input.path]) == ours)
        #expect(try run("/usr/sbin/vmcore-dmesg", [outputPath]) == ours)
    }

    func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
