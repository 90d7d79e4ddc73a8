import DumpFormat
import SystemCalls
import TestSupport
import Testing
import VMCore

@Suite struct KdumpWriterTests {
    /// A core (the printk fixture's notes) whose only memory is a direct-map segment of 6 pages at frame 0x1000: random-ish, zero, a repeated byte, zero,
    /// incompressible, a single byte.
    static func core() -> (SyntheticCore, pages: [[UInt8]]) {
        var core = PrintkRingFixture.core()
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func noise() -> UInt8 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
        let pages: [[UInt8]] = [
            (0..<4096).map { UInt8(truncatingIfNeeded: $0 / 16) },
            [UInt8](repeating: 0, count: 4096),
            [UInt8](repeating: 0x5a, count: 4096),
            [UInt8](repeating: 0, count: 4096),
            (0..<4096).map { _ in noise() },
            [UInt8](repeating: 0, count: 4095) + [7],
        ]
        core.segments = [
            .init(
                virtualAddress: SyntheticCore.pageOffset + 0x0100_0000, physicalAddress: 0x0100_0000,
                data: pages.flatMap { $0 })
        ]
        return (core, pages)
    }

    func write(
        level: Int, compression: PageCompression, threads: Int = 2, batchPages: Int = 4, duplicateLag: Int = 2048,
        pages: [[UInt8]]? = nil
    )
        throws -> (TemporaryDirectory, ELFCore, PageSelection, KdumpReader, WriteStatistics)
    {
        let scratch = try TemporaryDirectory("vmcore")
        var synthetic = Self.core().0
        if let pages { synthetic.segments[0].data = pages.flatMap { $0 } }
        let input = try ELFCore.open(try scratch.write("input", synthetic.bytes()))
        let selection = PageSelector.select(input, level: DumpLevel(level)!)
        let path = scratch.path + "/vmcore.kdump"
        let output = try FileDescriptor.open(path, [.readWrite, .create, .exclusive], mode: 0o600)
        var statistics = WriteStatistics()
        try KdumpWriter(compression: compression, threads: threads, batchPages: batchPages, duplicateLag: duplicateLag)
            .write(
                input, selection: selection, excludeZeroPages: selection.level.excludesZeroPages, to: output,
                statistics: &statistics)
        try output.close()
        return (scratch, input, selection, try KdumpReader.open(path), statistics)
    }

    /// Every page of `pages` (frame 0x1000 on) that `include` takes reads back from `reader` unchanged.
    static func expectPages(
        _ pages: [[UInt8]], readBackFrom reader: KdumpReader, where include: (Int) -> Bool = { _ in true },
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for (index, page) in pages.enumerated() where include(index) {
            #expect(try reader.page(0x1000 + UInt64(index)) == page, "page \(index)", sourceLocation: sourceLocation)
        }
    }

    /// KASLR can place the kernel image's virtual offset above its physical one: phys_base is then negative.
    @Test func kernelImageAddressesReadThroughANegativePhysBase() throws {
        var synthetic = SyntheticCore()
        let physBase: Int64 = 0x0010_0000 - 0x0100_0000
        synthetic.notes = [
            SyntheticCore.vmcoreinfo("OSRELEASE=6.1.0-synthetic\nPAGESIZE=4096\nNUMBER(phys_base)=\(physBase)\n"),
            SyntheticCore.prstatus(pid: 1, rip: 0xffff_ffff_8100_0010, rsp: 0),
        ]
        let text = (0..<4096).map { UInt8(truncatingIfNeeded: $0 * 31 + 7) }
        synthetic.segments = [
            .init(virtualAddress: 0xffff_ffff_8100_0000, physicalAddress: 0x0010_0000, data: text),
            .init(virtualAddress: SyntheticCore.pageOffset + 0x0010_0000, physicalAddress: 0x0010_0000, data: text),
        ]
        let scratch = try TemporaryDirectory("vmcore")
        let input = try ELFCore.open(try scratch.write("input", synthetic.bytes()))
        defer { try? input.close() }
        let path = scratch.path + "/vmcore.kdump"
        let output = try FileDescriptor.open(path, [.readWrite, .create, .exclusive], mode: 0o600)
        var statistics = WriteStatistics()
        try KdumpWriter(compression: .zstd).write(
            input, selection: PageSelector.select(input, level: DumpLevel(0)!),
            excludeZeroPages: false, to: output, statistics: &statistics)
        try output.close()
        let reader = try KdumpReader.open(path)
        defer { try? reader.close() }
        #expect(reader.physBase == UInt64(bitPattern: physBase))
        #expect(reader.cpus == input.cpus)
        #expect(try reader.readVirtual(0xffff_ffff_8100_0010, count: 32, what: "text") == Array(text[16..<48]))
        #expect(try reader.readPhysical(0x0010_0ff0, count: 16, what: "physical") == Array(text[4080...]))
    }

    @Test(arguments: [1, 2], [1, 3])
    func framesRepeatingOneWordShareOneStoredPage(threads: Int, batchPages: Int) throws {
        func word(_ value: UInt64) -> [UInt8] {
            (0..<4096).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0 % 8))) }
        }
        let noise = (0..<4096).map { UInt8(truncatingIfNeeded: ($0 * 7919) >> 3 ^ $0) }
        let repeated = [
            word(0xcccc_cccc_cccc_cccc), noise, word(0xcccc_cccc_cccc_cccc), word(0x0102_0304_0506_0708),
            word(0xcccc_cccc_cccc_cccc), word(0x0102_0304_0506_0708),
        ]
        let distinct = [
            word(0xcccc_cccc_cccc_cccc), noise, word(0xdddd_dddd_dddd_dddd), word(0x0102_0304_0506_0708),
            word(0xeeee_eeee_eeee_eeee), word(0x1112_1314_1516_1718),
        ]
        var sizes: [UInt64] = []
        for pages in [repeated, distinct] {
            let (scratch, input, _, reader, statistics) = try write(
                level: 0, compression: .none, threads: threads,
                batchPages: batchPages, pages: pages)
            defer {
                try? input.close()
                try? reader.close()
            }
            try Self.expectPages(pages, readBackFrom: reader)
            #expect(statistics.writtenPages == 6)
            sizes.append(try #require(try FileSystem.status(scratch.path + "/vmcore.kdump")).size)
        }
        // Uncompressed: the repeated words are stored once, 3 pages fewer than with six different pages.
        #expect(sizes[1] - sizes[0] == 3 * 4096)
    }

    /// A frame with the bytes of a page stored at least the lag (8 here) kept frames before it points at that copy;
    /// closer repeats are stored again. The file is the same whatever the threads and batches, since which pages a
    /// frame may point at depends on the frames alone.
    @Test func framesWithTheBytesOfAPageStoredEarlierPointAtIt() throws {
        func distinct(_ seed: Int) -> [UInt8] {
            (0..<4096).map { UInt8(truncatingIfNeeded: ($0 &* (2 * seed + 3)) >> 2 ^ seed &+ $0 / 7) }
        }
        let first = (0..<10).map(distinct)
        let second = (10..<20).map(distinct)
        // 20-29 repeat 0-9 (20 frames later), 30-32 repeat 17-19 (13 later), 34 repeats 33 (1 later: stored).
        let pages = first + second + first + second[7...] + [distinct(50), distinct(50)]
        let unrepeated = first + second + (20..<35).map(distinct)
        var files: [[UInt8]] = []
        var sizes: [UInt64] = []
        for (pages, runs) in [(pages, [(1, 8), (2, 3), (3, 1), (2, 8)]), (unrepeated, [(2, 8)])] {
            for (threads, batchPages) in runs {
                let (scratch, input, _, reader, statistics) = try write(
                    level: 0, compression: .none, threads: threads, batchPages: batchPages, duplicateLag: 8,
                    pages: pages)
                defer {
                    try? input.close()
                    try? reader.close()
                }
                try Self.expectPages(pages, readBackFrom: reader)
                #expect(statistics.writtenPages == 35)
                #expect(statistics.duplicatePages == (pages == unrepeated ? 0 : 13))
                let file = try FileDescriptor.open(scratch.path + "/vmcore.kdump", .readOnly)
                defer { try? file.close() }
                files.append(try file.readToEnd())
                sizes.append(UInt64(files.last!.count))
            }
        }
        for file in files.dropFirst().dropLast() { #expect(file == files[0]) }
        // Uncompressed: 13 pages fewer stored than with 35 different pages.
        #expect(sizes.last! - sizes[0] == 13 * 4096)
    }

    /// The pipeline hands pages to threads in any order and stores batches as they finish: the file must be the
    /// same whatever the threads and the batch size.
    @Test func theFileIsTheSameWhateverTheThreadsAndBatches() throws {
        let noise = (0..<4096).map { UInt8(truncatingIfNeeded: ($0 * 7919) >> 3 ^ $0) }
        let pages: [[UInt8]] = (0..<300).map { index in
            switch index % 7 {
            case 0: [UInt8](repeating: 0, count: 4096)
            case 1: [UInt8](repeating: UInt8(index % 5), count: 4096)
            case 2: noise
            default: (0..<4096).map { UInt8(truncatingIfNeeded: $0 / (index % 13 + 1) + index) }
            }
        }
        var files: [[UInt8]] = []
        for (threads, batchPages) in [(1, 512), (2, 1), (3, 5), (4, 7), (2, 64)] {
            let (scratch, input, _, reader, _) = try write(
                level: 1, compression: .zstd, threads: threads, batchPages: batchPages, pages: pages)
            defer {
                try? input.close()
                try? reader.close()
            }
            let file = try FileDescriptor.open(scratch.path + "/vmcore.kdump", .readOnly)
            defer { try? file.close() }
            files.append(try file.readToEnd())
            try Self.expectPages(pages, readBackFrom: reader, where: { $0 % 7 != 0 })
        }
        for file in files.dropFirst() { #expect(file == files[0]) }
    }

    @Test(arguments: PageCompression.allCases, [1, 2, 3])
    func everyPageReadsBackUnchanged(compression: PageCompression, threads: Int) throws {
        let (scratch, input, selection, reader, statistics) = try write(
            level: 1, compression: compression,
            threads: threads)
        _ = scratch
        defer {
            try? input.close()
            try? reader.close()
        }
        let pages = Self.core().pages
        #expect(reader.status == compression.flag)  // complete: no DUMP_DH_COMPRESSED_INCOMPLETE
        #expect(reader.dumpLevel == 1)
        #expect(reader.present == selection.present)
        #expect(reader.dumped == selection.present)  // zero pages stay dumped, pointing at one stored zero page
        try Self.expectPages(pages, readBackFrom: reader)
        #expect(try reader.page(0x1006) == nil)
        #expect(statistics.excludedZeroPages == 2)
        #expect(statistics.writtenPages == 4)
        #expect(reader.vmcoreInfo == input.vmcoreInfo)
    }

    @Test func theHeaderHasMakedumpfilesLayout() throws {
        let (scratch, input, _, reader, _) = try write(level: 0, compression: .zstd)
        defer {
            try? input.close()
            try? reader.close()
        }
        let head = try reader.file.readBytes(count: 464, atOffset: 0)
        #expect(Array(head[0..<8]) == Array("KDUMP   ".utf8))
        #expect(head.littleEndian(Int32.self, at: 8) == 6)  // header_version
        #expect(head.littleEndian(UInt32.self, at: 424) == 0x20)  // status: zstd
        #expect(head.littleEndian(Int32.self, at: 428) == 4096)  // block_size
        #expect(head.littleEndian(UInt32.self, at: 440) == 0x1006)  // max_mapnr
        #expect(head.littleEndian(Int32.self, at: 460) == Int32(input.cpus.count))  // nr_cpus
        let sub = try reader.file.readBytes(count: 104, atOffset: 4096)
        // Unwrapped first: an optional UInt64 against a literal inside #expect overflowed a stack buffer in
        // Swift Testing's value capture (AddressSanitizer, Swift 6.3.1) and crashed later tests at random.
        let noteOffset = try #require(sub.littleEndian(UInt64.self, at: 48))
        let maxMapnr = try #require(sub.littleEndian(UInt64.self, at: 96))
        #expect(noteOffset == 4096 + 104)  // offset_note
        #expect(maxMapnr == 0x1006)  // max_mapnr_64
        _ = scratch
    }

    @Test func incompressiblePagesAreStoredRaw() throws {
        let (scratch, input, _, reader, _) = try write(level: 0, compression: .zlib)
        defer {
            try? input.close()
            try? reader.close()
        }
        // Descriptor of the noise page (the 5th dumped frame): size 4096, flags 0.
        let head = try reader.file.readBytes(count: 464, atOffset: 0)
        let subBlocks = UInt64(head.littleEndian(Int32.self, at: 432)!)
        let bitmapBlocks = UInt64(head.littleEndian(UInt32.self, at: 436)!)
        let descriptor = try reader.file.readBytes(count: 24, atOffset: (1 + subBlocks + bitmapBlocks) * 4096 + 4 * 24)
        #expect(descriptor.littleEndian(UInt32.self, at: 8) == 4096)
        #expect(descriptor.littleEndian(UInt32.self, at: 12) == 0)
        let first = try reader.file.readBytes(count: 24, atOffset: (1 + subBlocks + bitmapBlocks) * 4096)
        #expect(first.littleEndian(UInt32.self, at: 12) == PageCompression.zlib.flag)
        _ = scratch
    }

    @Test func withoutStructPageInformationTheLevelIsLoweredWithAWarning() throws {
        let (scratch, input, selection, reader, _) = try write(level: 31, compression: .none)
        defer {
            try? input.close()
            try? reader.close()
        }
        #expect(selection.level.applied == 1)
        #expect(
            selection.level.warning?.hasPrefix(
                "dump level 31 lowered to 1: cannot read the crashed kernel's page "
                    + "descriptors (VMCOREINFO has no ") == true)
        #expect(reader.dumpLevel == 1)
        _ = scratch
    }

    @Test func lz4IsRefusedBecauseNoReaderDecodesIt() {
        #expect(
            PageCompression.problem(with: "lz4")?.hasPrefix(
                "compression lz4 cannot be used for kdump-compressed "
                    + "dumps: the format has no LZ4 page flag") == true)
        #expect(PageCompression.problem(with: "gzip") == "unknown compression 'gzip' (supported: zstd, zlib, none)")
        #expect(PageCompression.problem(with: "zstd") == nil)
    }
}
