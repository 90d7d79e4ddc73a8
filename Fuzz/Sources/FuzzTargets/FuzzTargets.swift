import DumpFormat
import OopsConfig
import SystemCalls
import VMCore

#if canImport(Glibc)
import Glibc
#endif

/// The fuzz targets: one function per reader of untrusted bytes, each called by its own libFuzzer executable
/// (`Fuzz/Sources/fuzz-*`). Where random bytes cannot reach the deep code, the input is placed into a valid
/// structure (a synthetic core with page tables, mem_section and struct pages; a printk ring) instead of being
/// the whole file. A broken invariant stops the run with `fatalError`, like a trap does.
public enum FuzzTargets {
    /// ELF header and program headers: the input is the whole core file (written over one scratch file, not a new
    /// file per execution).
    public static func elf(_ data: [UInt8]) {
        guard let core = try? ELFCore.open(elfFile.update([(0, data)], size: data.count)) else { return }
        defer { try? core.close() }
        for (_, load) in core.loadSegments.prefix(8) {
            _ = try? core.readVirtual(load.virtualAddress, count: Int(min(load.memorySize, 64)), what: "fuzz")
            _ = try? core.readPhysical(load.physicalAddress, count: Int(min(load.memorySize, 64)), what: "fuzz")
        }
        _ = try? core.readKernelVirtual(0xffff_c900_0000_0000, count: 16, what: "fuzz")
        _ = try? PrintkRing.records(of: core)
        _ = try? Kallsyms.load(from: core)
    }

    /// Notes: the input is the content of the one PT_NOTE segment of an otherwise valid core.
    public static func notes(_ data: [UInt8]) {
        var bytes = ELFHeader(type: 4, machine: 62, flags: 0, programHeaderOffset: 64, programHeaderCount: 2).encoded()
        let noteOffset = UInt64(64 + 2 * 56)
        bytes += ProgramHeader(
            type: 4, offset: noteOffset, fileSize: UInt64(data.count), memorySize: UInt64(data.count)
        )
        .encoded()
        bytes += ProgramHeader(
            type: 1, offset: noteOffset + UInt64(data.count), virtualAddress: 0xffff_ffff_8100_0000,
            physicalAddress: 0x0200_0000, fileSize: 4096, memorySize: 4096
        ).encoded()
        bytes += data + [UInt8](repeating: 0x11, count: 4096)
        guard let core = try? ELFCore.open(FuzzInput.file("notes", bytes)) else { return }
        defer { try? core.close() }
        for cpu in core.cpus { _ = cpu[.rip] &+ cpu[.rsp] }
        if let info = core.vmcoreInfo { _ = (info.osRelease, info.pageSize, info.kernelOffset, info.crashTime) }
        _ = try? PrintkRing.records(of: core)
    }

    static let elfFile = ScratchImage("elf", image: [])

    /// The machine the VMCOREINFO target describes: the page-walk fixture's memory and the printk fixture's ring,
    /// with the kernel text frame moved down next to the ring (physical 0x103000, frame 259, instead of 32 MiB):
    /// the walk then covers 260 frames rather than 8,193, still well past the 64 whose struct pages are mapped.
    /// The notes go after the memory, so that an execution rewrites only them and the PT_NOTE header.
    static let machine: ScratchImage = {
        var core = PageWalkFixture.core()
        var printk = PrintkRingFixture.core().segments
        printk[0].physicalAddress = PrintkRingFixture.directPhysical + UInt64(printk[1].data.count)
        core.segments += printk
        return ScratchImage("vmcoreinfo", image: core.bytesWithNotesLast().bytes)
    }()
    static let machineStatus = SyntheticCore.prstatus(pid: 1, rip: 0xffff_ffff_8100_0000, rsp: 0).encoded()

    /// VMCOREINFO: the input is the note's text; the memory is a small machine with page tables, mem_section,
    /// struct pages and a printk ring, so that every value the text sets reaches the code that uses it.
    public static func vmcoreinfo(_ data: [UInt8]) {
        let notes = machineStatus + ELFNote(name: "VMCOREINFO", type: 0, descriptor: data).encoded()
        let at = machine.image.count  // the notes end the file; the PT_NOTE header is the first (at 64)
        let path = machine.update(
            [(64, SyntheticCore.noteHeader(at: UInt64(at), size: notes.count)), (at, notes)], size: at + notes.count)
        guard let opened = try? ELFCore.open(path) else { return }
        defer { try? opened.close() }
        let selection = PageSelector.select(opened, level: DumpLevel(31)!, threads: 1)
        checkSelection(selection)
        _ = try? PrintkRing.records(of: opened)
        _ = try? Kallsyms.load(from: opened)
        _ = try? opened.translateThroughPageTables(PageWalkFixture.vmemmap)
    }

    /// The printk ring: the input is the direct-map memory holding `printk_ringbuffer`, its descriptors, infos and
    /// text (0x3000 bytes in the fixture), up to 16 KiB; VMCOREINFO is Linux 6.1's. The core is written and opened
    /// once (an `ELFCore` reads memory from the file on every access): an execution rewrites the memory and cuts
    /// the file after it, so that what lies past the input reads as a truncated core, as when the segment ended.
    public static func printk(_ data: [UInt8]) {
        let memory = Array(data.prefix(printkCore.memorySize))
        _ = printkCore.file.update([(printkCore.memoryOffset, memory)], size: printkCore.memoryOffset + memory.count)
        if let records = try? PrintkRing.records(of: printkCore.opened) {
            _ = DmesgFormat.text(records)
        }
    }

    /// The printk fixture's core with a 16 KiB segment for the ring's memory (the last PT_LOAD, the file's tail).
    static let printkCore = { () -> (file: ScratchImage, opened: ELFCore, memoryOffset: Int, memorySize: Int) in
        var core = PrintkRingFixture.core()
        let size = 16 * 1024
        core.segments[1].data = [UInt8](repeating: 0, count: size)
        let file = ScratchImage("printk", image: core.bytes())
        guard let opened = try? ELFCore.open(file.path) else { fatalError("the printk fixture does not open") }
        return (file, opened, file.image.count - size, size)
    }()

    /// kallsyms: the input is the tables — `u32 count`, `u64 relative_base`, `u16 table length`, the token table,
    /// the 256 `u16` token index, `count` `s32` offsets, then `kallsyms_names`.
    public static func kallsyms(_ data: [UInt8]) {
        var reader = FuzzReader(data)
        let declared = Int(reader.uint32() % 65536)
        let relativeBase = UInt64(reader.uint32()) | UInt64(reader.uint32()) << 32
        let table = reader.take(Int(reader.uint16()))
        let indexBytes = reader.take(512) + [UInt8](repeating: 0, count: 512)
        let index = (0..<256).map { UInt16(indexBytes[2 * $0]) | UInt16(indexBytes[2 * $0 + 1]) << 8 }
        // A count whose offsets run past the input leaves kallsyms_names empty, so decoding stops at symbol 0
        // whatever the count: one more than the offsets the input holds takes that path without building up to
        // 65,535 zero offsets per execution (most of the target's time with random counts).
        let count = min(declared, reader.remainingCount / 4 + 1)
        // The offsets the input holds, its last one padded with zeros; those past the input are 0. (Padding the
        // bytes with 4 * count zeros cost an allocation of up to 256 KiB, fresh pages, per execution.)
        var offsetBytes = reader.take(4 * count)
        offsetBytes += [UInt8](repeating: 0, count: (4 - offsetBytes.count % 4) % 4)
        let offsets = (0..<count).map { Int32(bitPattern: offsetBytes.littleEndian(UInt32.self, at: 4 * $0) ?? 0) }
        let names = reader.remaining
        guard
            let symbols = try? Kallsyms.decode(
                count: count,
                readNames: { offset, length in
                    offset < names.count ? Array(names[offset..<min(names.count, offset + length)]) : []
                }, tokenTable: table, tokenIndex: index, offsets: offsets, relativeBase: relativeBase)
        else { return }
        FuzzInput.check(symbols.symbols.count == count, "decoded \(symbols.symbols.count) symbols of \(count)")
        for symbol in symbols.symbols.prefix(64) {
            if let location = symbols.symbolize(symbol.address) {
                FuzzInput.check(
                    location.offset < location.size || location.size == 0, "offset beyond size: \(location)")
            }
            _ = symbols.symbolize(returnAddress: symbol.address &+ 1)
        }
    }

    /// The page walk: the input replaces frames 1-6 of the page-walk fixture (the four page-table levels mapping
    /// vmemmap, the struct pages, mem_section); VMCOREINFO is the fixture's. The core is opened once: an `ELFCore`
    /// holds only its headers and notes, which stay the same, and reads memory from the file on every access.
    public static func pageWalk(_ data: [UInt8]) {
        _ = pageWalkCore.file.update(
            [(pageWalkCore.memoryOffset + 4096, Array(data.prefix(6 * 4096)))], size: pageWalkCore.file.image.count)
        checkSelection(PageSelector.select(pageWalkCore.opened, level: DumpLevel(31)!, threads: 2))
    }

    /// The page-walk fixture's core file, written and opened once; its memory (the one PT_LOAD) is the file's tail.
    static let pageWalkCore = { () -> (file: ScratchImage, opened: ELFCore, memoryOffset: Int) in
        let file = ScratchImage("pagewalk", image: PageWalkFixture.core().bytes())
        guard let opened = try? ELFCore.open(file.path) else { fatalError("the page-walk fixture does not open") }
        return (file, opened, file.image.count - PageWalkFixture.frames * 4096)
    }()

    static func checkSelection(_ selection: PageSelection) {
        FuzzInput.check(selection.kept.count == selection.present.count, "kept and present bitmaps differ in size")
        for (kept, present) in zip(selection.kept.words, selection.present.words) {
            FuzzInput.check(kept & ~present == 0, "a frame is kept that is not present")
        }
        FuzzInput.check(
            selection.excluded.reduce(0, +) <= selection.present.population,
            "more frames left out (\(selection.excluded)) than present (\(selection.present.population))")
    }

    /// kdump: with the first byte's top bit set, the rest is a kdump file for the reader; otherwise the rest is the
    /// memory of a core (up to 16 pages) written with the level in the first byte's low five bits, zlib (bit 6) or
    /// zstd, by two compression threads (bit 5) or one, and read back, every kept frame exactly as it was. One
    /// thread for the inputs without bit 5: starting a thread per batch cost more than the rest of the round trip.
    public static func kdump(_ data: [UInt8]) {
        var reader = FuzzReader(data)
        let mode = reader.byte()
        if mode & 0x80 != 0 {
            let raw = reader.remaining
            readKdump(rawKdumpFile.update([(0, raw)], size: raw.count))
            return
        }
        let memory = Array(reader.remaining.prefix(16 * 4096))
        guard memory.count >= 4096 else { return }
        let pages = memory.count / 4096
        let at = roundTripCore.memoryOffset
        let header = ProgramHeader(
            type: 1, flags: 7, offset: UInt64(at), virtualAddress: roundTripVirtual,
            physicalAddress: roundTripPhysical, fileSize: UInt64(pages * 4096), memorySize: UInt64(pages * 4096))
        let input = roundTripCore.file.update(
            [(roundTripCore.memoryHeaderOffset, header.encoded()), (at, Array(memory.prefix(pages * 4096)))],
            size: at + pages * 4096)
        guard let core = try? ELFCore.open(input) else { fatalError("the synthetic core does not open") }
        defer { try? core.close() }
        let selection = PageSelector.select(core, level: DumpLevel(Int(mode & 31))!, threads: 1)
        let (path, output) = roundTripOutput
        do {
            // The writer takes an empty file, positioned at its start (it writes some parts at the file position).
            try output.truncate(to: 0)
            guard lseek(output.rawValue, 0, SEEK_SET) == 0 else { fatalError("cannot rewind \(path)") }
            var statistics = WriteStatistics()
            try KdumpWriter(
                compression: mode & 0x40 != 0 ? .zlib : .zstd, threads: mode & 0x20 != 0 ? 2 : 1, batchPages: 4
            ).write(
                core, selection: selection, excludeZeroPages: selection.level.excludesZeroPages, to: output,
                statistics: &statistics)
            let back = try KdumpReader.open(path)
            defer { try? back.close() }
            for page in 0..<pages {
                let pfn = UInt64(0x1000 + page)
                let stored = try back.page(pfn)
                let original = Array(memory[(page * 4096)..<((page + 1) * 4096)])
                if selection.kept.contains(pfn) {
                    FuzzInput.check(stored == original, "frame \(pfn) reads back changed")
                } else {
                    FuzzInput.check(stored == nil, "frame \(pfn) was left out but reads back")
                }
            }
        } catch {
            fatalError("writing and reading back a valid core failed: \(error)")
        }
    }

    /// The core the round trip writes: the printk fixture's and, last, a PT_LOAD of up to 16 pages at physical
    /// 16 MiB (frames 0x1000...) holding the input; written once, then only that header and memory change.
    static let roundTripCore = { () -> (file: ScratchImage, memoryHeaderOffset: Int, memoryOffset: Int) in
        var synthetic = PrintkRingFixture.core()
        synthetic.segments.append(
            .init(
                virtualAddress: roundTripVirtual, physicalAddress: roundTripPhysical,
                data: [UInt8](repeating: 0, count: 16 * 4096)))
        let file = ScratchImage("input", image: synthetic.bytes())
        return (file, 64 + 56 * synthetic.segments.count, file.image.count - 16 * 4096)
    }()
    /// The file the round trip writes, opened once (read-write) and emptied before each write.
    static let roundTripOutput = { () -> (path: String, file: FileDescriptor) in
        let path = FuzzInput.file("out.kdump", [])
        do {
            return (path, try FileDescriptor.open(path, [.readWrite]))
        } catch {
            fatalError("cannot open the scratch file \(path): \(error)")
        }
    }()
    /// The file the kdump reader opens, written over by each execution.
    static let rawKdumpFile = ScratchImage("raw.kdump", image: [])
    static let roundTripPhysical: UInt64 = 0x0100_0000
    static let roundTripVirtual = SyntheticCore.pageOffset + roundTripPhysical

    static func readKdump(_ path: String) {
        guard let reader = try? KdumpReader.open(path) else { return }
        defer { try? reader.close() }
        var pfn = reader.dumped.next(true, from: 0, below: reader.dumped.count)
        var pages = 0
        while pfn < reader.dumped.count && pages < 32 {
            _ = try? reader.page(pfn)
            pfn = reader.dumped.next(true, from: pfn + 1, below: reader.dumped.count)
            pages += 1
        }
        _ = try? reader.readVirtual(0xffff_ffff_8100_0000, count: 64, what: "fuzz")
        _ = try? reader.readVirtual(0xffff_8880_0010_0000, count: 64, what: "fuzz")
        _ = try? PrintkRing.records(of: reader)
        _ = try? Kallsyms.load(from: reader)
    }

    /// The configuration parser: the input is one file's text; whatever it says, the JSON rendering must parse.
    public static func config(_ data: [UInt8]) {
        var merged = MergedConfiguration()
        merged.apply(text: String(decoding: data, as: UTF8.self), file: "/etc/oopsd/oopsd.conf")
        let configuration = OopsConfiguration(merged)
        _ = (configuration.capture.timeout.description, configuration.retention.keepFree.description)
        _ = configuration.retention.maxUse.resolve(total: .max)
        _ = ConfigRendering.annotated(merged)
        let json = ConfigRendering.json(merged)
        do {
            _ = try JSONValue.parse(Array(json.utf8))
        } catch {
            fatalError("oopsctl config --json printed what does not parse (\(error)): \(json)")
        }
    }

    /// metadata.json and upload-state.json: the input is the file; what the reader accepts, the writer writes back
    /// in a form the reader accepts again, with the same content.
    public static func json(_ data: [UInt8]) {
        // DumpMetadata(json:) starts with JSONValue.parse of the same bytes (any top-level value): no separate parse.
        if let metadata = try? DumpMetadata(json: data, path: "metadata.json") {
            let written = Array(metadata.json.serialized().utf8)
            do {
                let again = try DumpMetadata(json: written, path: "metadata.json")
                FuzzInput.check(again.json == metadata.json, "metadata.json changes when written and read back")
            } catch {
                fatalError("metadata.json written from an accepted file is refused: \(error)")
            }
        }
        if let state = try? UploadState(json: data, path: "upload-state.json") {
            do {
                let again = try UploadState(json: state.bytes, path: "upload-state.json")
                FuzzInput.check(again.targets == state.targets, "upload-state.json changes when written and read back")
            } catch {
                fatalError("upload-state.json written from an accepted file is refused: \(error)")
            }
        }
    }
}
