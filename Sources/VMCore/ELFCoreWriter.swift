import DumpFormat
import SystemCalls

/// Writes an ELF64 core: one PT_NOTE holding every note of the input, then PT_LOAD segments with the input's
/// addresses. Without a page filter or zero-page exclusion every input PT_LOAD is copied whole; with them, each
/// input PT_LOAD becomes one PT_LOAD per run of stored frames, packed one after the other, so left-out memory
/// takes no room in the file and reading it fails instead of returning made-up bytes (as in makedumpfile's `-E`
/// files).
///
/// `Layout.packed` (the default) has no holes: its apparent size is its size on disk, which every copy, archive and
/// upload without hole support pays for; more than 65,534 segments are counted with `PN_XNUM` (section header 0's
/// `sh_info`), as crash, drgn, gdb, readelf and makedumpfile read it. When zero pages are left out, a run of at
/// least `zeroRunPages` zero pages becomes a PT_LOAD of its own with no file data (`p_filesz` 0, `p_offset` 0),
/// which readers return as zeros; shorter zero runs are stored as data. Zero pages never leave the address space:
/// crash reads zero kernel data (the `mem_section` root table) and stops where it is missing. Zero runs are not
/// memory past a data segment's file data, as in makedumpfile's `-E` files: makedumpfile's mmap reader takes
/// `p_offset + p_memsz` as the end of a segment's file bytes and reads the next segment's data (or past the end of
/// the file, SIGBUS) for pages that follow; the zero-run headers come after every data header, where its search for
/// the segment holding a file offset finds the data segment first. `Layout.sparse` (for readers without
/// `PN_XNUM`): at most `maximumLoads` segments, runs joined across gaps, zero and left-out pages inside them holes
/// of a sparse file.
///
/// The header is written first with `e_flags` = `DUMP_ELF_INCOMPLETE` and cleared only after every byte is
/// written, so an interrupted dump says so to makedumpfile and crash.
public struct ELFCoreWriter {
    /// Bytes of input mapped (or read) at a time.
    public var windowSize: Int
    /// Bytes read at a time when the input cannot be mapped.
    public var readBufferSize: Int
    /// The page size pages are checked in.
    public var pageSize: Int
    /// How stored pages are laid out in the file.
    public var layout: Layout
    /// The shortest run of zero pages the packed layout makes a load without file data (when zero pages are left
    /// out); shorter runs are stored as data. With runs of 64 pages, makedumpfile's `--dump-dmesg` crashed on our
    /// files (it read an mmap window it had already unmapped, once many pages came through `read()`; 2026-12-05).
    public var zeroRunPages: UInt64 = 1024

    /// How the writer lays out what it stores.
    public enum Layout: Equatable, Sendable {
        /// No holes: zero pages stored as data; up to `ELFCore.maximumProgramHeaders` (`PN_XNUM`).
        case packed
        /// At most `maximumLoads` PT_LOADs, below `PN_XNUM`: runs of kept frames are joined across ever larger
        /// gaps until they fit, and zero or left-out pages inside a segment are holes.
        case sparse(maximumLoads: Int)

        /// The sparse layout for readers without `PN_XNUM`.
        public static let sparse = Layout.sparse(maximumLoads: 65_000)
    }

    public init(
        windowSize: Int = 64 << 20, readBufferSize: Int = 4 << 20, pageSize: Int = 4096, layout: Layout = .packed
    ) {
        precondition(windowSize % pageSize == 0 && readBufferSize % pageSize == 0, "windows must be whole pages")
        if case .sparse(let maximumLoads) = layout { precondition(maximumLoads > 0, "at least one PT_LOAD") }
        self.windowSize = windowSize
        self.readBufferSize = readBufferSize
        self.pageSize = pageSize
        self.layout = layout
    }

    /// Most PT_LOADs the layout allows (the PT_NOTE is the other header).
    var maximumLoads: Int {
        switch layout {
        case .packed: ELFCore.maximumProgramHeaders - 1
        case .sparse(let maximumLoads): maximumLoads
        }
    }

    /// One PT_LOAD of the output and where its bytes are in the input.
    public struct PlacedLoad: Equatable, Sendable {
        /// The output program header (offset in the output file).
        public var header: ProgramHeader
        /// The input PT_LOAD it was cut from.
        public var input: ProgramHeader
        /// Where the segment's first byte is in the input file.
        public var inputOffset: UInt64
        /// Whether its bytes are another output segment's (the kernel text mapping over the direct map), so
        /// they are stored once.
        public var isAlias = false
    }

    /// The output's PT_LOADs cut from `core`'s: whole segments without `keep`, else the runs of kept frames of each
    /// (a partial page at a segment's edge counts as its frame). Offsets are not placed yet.
    public func loads(of core: ELFCore, keep: PageBitmap?) -> [PlacedLoad] {
        let inputs = core.loadSegments.map(\.header)
        guard let keep else { return inputs.map { PlacedLoad(header: $0, input: $0, inputOffset: $0.offset) } }
        let page = UInt64(pageSize)
        let frames = inputs.filter { $0.fileSize > 0 }.map { $0.frames(pageSize: page) }
        // The smallest gap (a power of two) that keeps the count in bounds, counted before anything is kept.
        var gap: UInt64 = 1
        while gap < 1 << 40, runCount(of: frames, keep: keep, mergingGapsBelow: gap) > maximumLoads { gap *= 2 }
        var result: [PlacedLoad] = []
        for input in inputs where input.fileSize > 0 {
            let end = input.physicalAddress + input.fileSize
            func offset(_ frame: UInt64) -> UInt64 {
                min(end, max(input.physicalAddress, frame * page)) - input.physicalAddress
            }
            for run in keep.runs(in: input.frames(pageSize: page), mergingGapsBelow: gap) {
                // Bytes of the input from its start; memory past the input's file data (p_memsz > p_filesz) stays
                // with the piece that ends there.
                let (lower, upper) = (offset(run.lowerBound), offset(run.upperBound))
                var header = input
                header.virtualAddress = input.virtualAddress &+ lower
                header.physicalAddress = input.physicalAddress + lower
                header.fileSize = upper - lower
                header.memorySize = upper == input.fileSize ? input.memorySize - lower : upper - lower
                result.append(PlacedLoad(header: header, input: input, inputOffset: input.offset + lower))
            }
        }
        return result
    }

    private func runCount(of frames: [Range<UInt64>], keep: PageBitmap, mergingGapsBelow gap: UInt64) -> Int {
        var count = 0
        for range in frames where count <= maximumLoads {
            count += keep.runCount(in: range, mergingGapsBelow: gap, limit: maximumLoads + 1 - count)
        }
        return count
    }

    /// The program headers of the output: the PT_NOTE for `noteSize` bytes, then `loads` placed one after the
    /// other, page-aligned (each at a file offset congruent to its physical address modulo the page size). A load
    /// of the kernel text mapping whose frames one direct-map load of the same input already stores points at
    /// those bytes instead of storing them again.
    public func place(
        _ loads: [PlacedLoad], noteSize: Int
    ) -> (headers: [ProgramHeader], loads: [PlacedLoad], size: UInt64) {
        let count = 1 + loads.count
        let noteOffset = UInt64(ELFHeader.size + count * ELFHeader.programHeaderSize)
        var placed = loads
        var cursor = noteOffset + UInt64(noteSize)
        let page = UInt64(pageSize)
        // Direct-map loads first, in order, then the text loads that no direct-map load stores.
        var directMap: [Int] = []
        // Loads without file data (zero runs) stay at offset 0 and take no room.
        let stored = placed.indices.filter { placed[$0].header.fileSize > 0 }
        for index in stored where !placed[index].header.mapsKernelText {
            let load = placed[index].header
            placed[index].header.offset = (cursor + page - 1) / page * page + load.physicalAddress % page
            cursor = placed[index].header.offset + load.fileSize
            directMap.append(index)
        }
        let byStart = directMap.sorted { placed[$0].header.physicalAddress < placed[$1].header.physicalAddress }
        let starts = byStart.map { placed[$0].header.physicalAddress }
        for index in stored where placed[index].header.mapsKernelText {
            let load = placed[index].header
            let low = starts.partitionPoint { $0 > load.physicalAddress }
            if low > 0 {
                let twin = placed[byStart[low - 1]].header
                if load.physicalAddress + load.fileSize <= twin.physicalAddress + twin.fileSize {
                    placed[index].header.offset = twin.offset + (load.physicalAddress - twin.physicalAddress)
                    placed[index].isAlias = true
                    continue
                }
            }
            placed[index].header.offset = (cursor + page - 1) / page * page + load.physicalAddress % page
            cursor = placed[index].header.offset + load.fileSize
        }
        let headers =
            [
                ProgramHeader(
                    type: ProgramHeader.typeNote, offset: noteOffset,
                    fileSize: UInt64(noteSize), memorySize: UInt64(noteSize))
            ] + placed.map(\.header)
        return (headers, placed, cursor)
    }

    /// Writes `core` to `output` (an empty regular file, or a stream: then every write is past the previous one and
    /// the header is written complete from the start). `statistics` is updated as the write goes on.
    /// Frames `keep` (when given) does not hold are not written.
    public func write(
        _ core: ELFCore, to output: some DumpOutput, excludeZeroPages: Bool, keep: PageBitmap? = nil,
        statistics: inout WriteStatistics
    ) throws {
        let notes = core.notes.flatMap { $0.encoded() }
        var reader = WindowReader(core: core, windowSize: windowSize, readBufferSize: readBufferSize)
        defer { reader.release() }
        var planned = self.loads(of: core, keep: keep)
        // The packed layout makes long zero runs loads without file data and stores shorter ones as data.
        let packed = layout == .packed
        if excludeZeroPages && packed {
            planned = try cuttingZeroRuns(planned, reader: &reader, statistics: &statistics)
        }
        let (headers, loads, dataEnd) = place(planned, noteSize: notes.count)
        // More than PN_XNUM - 1 headers: e_phnum is PN_XNUM and section header 0, after the data, holds the count.
        let extended = headers.count >= Int(ELFHeader.extendedNumbering)
        let sectionOffset = (dataEnd + 7) / 8 * 8
        let size = extended ? sectionOffset + UInt64(ELFHeader.sectionHeaderSize) : dataEnd
        var head = ELFHeader(
            type: ELFHeader.typeCore, machine: ELFHeader.machineX86_64,
            flags: output.isStream ? 0 : ELFHeader.flagIncomplete, programHeaderOffset: UInt64(ELFHeader.size),
            programHeaderCount: headers.count, sectionHeaderOffset: extended ? sectionOffset : 0
        ).encoded()
        for header in headers { head += header.encoded() }
        head += notes
        try output.writeAll(head, atOffset: 0)
        statistics.bytesWritten += UInt64(head.count)
        func writeSection() throws {
            let section = ELFHeader.extendedNumberingSection(programHeaderCount: headers.count)
            try output.writeAll(section, atOffset: sectionOffset)
            statistics.bytesWritten += UInt64(section.count)
        }
        // A stream gets the section header after the data, where it lies.
        if extended && !output.isStream { try writeSection() }

        // Frames the input holds, each once (the kernel text mapping repeats direct-map frames).
        let page = UInt64(pageSize)
        var inputFrames: UInt64 = 0
        var frameEnd: UInt64 = 0
        let frameRanges = core.loadSegments.map(\.header).filter { $0.fileSize > 0 }.map { $0.frames(pageSize: page) }
        for range in frameRanges.sorted(by: { $0.lowerBound < $1.lowerBound }) where range.upperBound > frameEnd {
            inputFrames += range.upperBound - max(range.lowerBound, frameEnd)
            frameEnd = range.upperBound
        }
        // In file order (kernel text loads are placed after the direct map), so that a stream only moves forward.
        // The whole pages written so far go to the device while the next windows are read, so the final sync waits
        // only for the last window.
        var writebackCursor: UInt64 = 0
        for load in loads.filter({ !$0.isAlias }).sorted(by: { $0.header.offset < $1.header.offset }) {
            // Sound because the windows are lent by `visit` and used only inside its body.
            try unsafe visit(load, reader: &reader) { window, position in
                try unsafe writeWindow(
                    window, segmentPosition: position, load: load.header, output: output,
                    excludeZeroPages: excludeZeroPages && !packed, keep: keep, statistics: &statistics)
                let written = (load.header.offset + position + UInt64(window.count)) / page * page
                if written > writebackCursor {
                    output.startWriteback(atOffset: writebackCursor, count: written - writebackCursor)
                    writebackCursor = written
                }
            }
        }
        if inputFrames > statistics.totalPages {
            statistics.excludedFilteredPages += inputFrames - statistics.totalPages
            statistics.totalPages = inputFrames
        }
        statistics.readMethod = reader.usesRead ? "read" : "mmap"
        if extended && output.isStream { try writeSection() }
        try output.truncate(to: size)  // the file ends where the last segment ends, even in a hole
        statistics.outputSize = size
        if !output.isStream {
            var complete: [UInt8] = []
            complete.appendLittleEndian(UInt32(0))
            try output.writeAll(complete, atOffset: ELFHeader.flagsOffset)
        }
        try output.sync()
    }

    /// Cuts runs of at least `zeroRunPages` whole zero pages out of each load's file data: the data around a run
    /// stays in pieces of the load, and the run becomes a load with no file data, listed after every data load, so
    /// every address stays readable, as zeros, and the file stores none of the run. Reads every byte of the
    /// direct-map loads once and counts the zero pages it leaves out. A kernel text load whose frames one
    /// direct-map load holds is not read: it takes that load's runs (clipped to its own frames), so its pieces are
    /// the direct map's and `place` points them at the same bytes; other text loads are read. Cuts stop when the
    /// header count would pass the layout's bound; a truncated input is reported by the write that follows.
    func cuttingZeroRuns(
        _ loads: [PlacedLoad], reader: inout WindowReader, statistics: inout WriteStatistics
    ) throws -> [PlacedLoad] {
        let page = UInt64(pageSize)
        let shortest = zeroRunPages * page
        var budget = (maximumLoads - loads.count) / 2  // a cut adds at most two loads
        // Zero runs of each load, in positions of its file data: direct-map loads first, as text loads take theirs.
        var runsOf = [[Range<UInt64>]](repeating: [], count: loads.count)
        let order =
            loads.indices.filter { !loads[$0].header.mapsKernelText }
            + loads.indices.filter { loads[$0].header.mapsKernelText }
        for index in order {
            let load = loads[index]
            if load.header.mapsKernelText, let twin = order.first(where: { covers(loads[$0], load) }) {
                // The twin's runs in physical addresses, clipped to this load's frames.
                let start = load.header.physicalAddress
                let end = start + load.header.fileSize
                for run in runsOf[twin] where budget > 0 {
                    let low = max(start, loads[twin].header.physicalAddress + run.lowerBound)
                    let high = min(end, loads[twin].header.physicalAddress + run.upperBound)
                    guard high > low, high - low >= shortest else { continue }
                    runsOf[index].append((low - start)..<(high - start))
                    budget -= 1
                }
                continue
            }
            var zeroStart: UInt64?
            func close(at end: UInt64) {
                if let start = zeroStart, end - start >= shortest, budget > 0 {
                    runsOf[index].append(start..<end)
                    budget -= 1
                }
                zeroStart = nil
            }
            try unsafe visit(load, reader: &reader, reportsTruncation: false) { window, position in
                var index = 0
                while index < window.count {
                    let address = load.header.physicalAddress + position + UInt64(index)
                    let pageEnd = min(window.count, index + Int(page - address % page))
                    // Sound because `index < pageEnd <= window.count`.
                    if unsafe pageEnd - index == pageSize
                        && isZero(UnsafeRawBufferPointer(rebasing: window[index..<pageEnd]))
                    {
                        if zeroStart == nil { zeroStart = position + UInt64(index) }
                    } else {
                        close(at: position + UInt64(index))
                    }
                    index = pageEnd
                }
            }
            close(at: min(load.header.fileSize, reader.core.fileSize - min(reader.core.fileSize, load.inputOffset)))
        }
        var result: [PlacedLoad] = []
        var zeroRuns: [PlacedLoad] = []
        result.reserveCapacity(loads.count)
        for (load, runs) in zip(loads, runsOf) {
            guard !runs.isEmpty else {
                result.append(load)
                continue
            }
            func piece(from start: UInt64, dataEnd: UInt64, memoryEnd: UInt64) -> PlacedLoad {
                var header = load.header
                header.virtualAddress = load.header.virtualAddress &+ start
                header.physicalAddress = load.header.physicalAddress + start
                header.offset = dataEnd > start ? load.header.offset + start : 0
                header.fileSize = dataEnd - start
                header.memorySize = memoryEnd - start
                return PlacedLoad(header: header, input: load.input, inputOffset: load.inputOffset + start)
            }
            var cursor: UInt64 = 0
            for run in runs {
                if run.lowerBound > cursor {
                    result.append(piece(from: cursor, dataEnd: run.lowerBound, memoryEnd: run.lowerBound))
                }
                cursor = run.upperBound
                // The input's memory past its file data stays with the last piece.
                let memoryEnd = cursor == load.header.fileSize ? load.header.memorySize : cursor
                zeroRuns.append(piece(from: run.lowerBound, dataEnd: run.lowerBound, memoryEnd: memoryEnd))
                if !load.header.mapsKernelText {
                    let pages = (run.upperBound - run.lowerBound) / page
                    statistics.totalPages += pages
                    statistics.excludedZeroPages += pages
                }
            }
            if cursor < load.header.fileSize {
                result.append(piece(from: cursor, dataEnd: load.header.fileSize, memoryEnd: load.header.memorySize))
            }
        }
        return result + zeroRuns
    }

    /// Whether direct-map load `twin` holds every frame of text load `text`'s file data.
    private func covers(_ twin: PlacedLoad, _ text: PlacedLoad) -> Bool {
        !twin.header.mapsKernelText && twin.header.physicalAddress <= text.header.physicalAddress
            && text.header.physicalAddress + text.header.fileSize
                <= twin.header.physicalAddress + twin.header.fileSize
    }

    /// Hands one output segment's input bytes to `body`, window by window, with each window's position in the
    /// segment; windows end on page boundaries of the physical address space. A truncated input is an error
    /// naming the segment, after the bytes that are there (unless `reportsTruncation` is false).
    private func visit(
        _ load: PlacedLoad, reader: inout WindowReader, reportsTruncation: Bool = true,
        _ body: (UnsafeRawBufferPointer, _ segmentPosition: UInt64) throws -> Void
    ) throws {
        let page = UInt64(pageSize)
        let fileSize = reader.core.fileSize
        let wanted = load.header.fileSize
        let available = fileSize > load.inputOffset ? min(wanted, fileSize - load.inputOffset) : 0
        // Windows end on page boundaries of the physical address space.
        let firstBoundary = (page - load.header.physicalAddress % page) % page
        var position: UInt64 = 0
        while position < available {
            let window = UInt64(reader.windowSize)
            let windowEnd = min(
                available, position == 0 && firstBoundary != 0 ? firstBoundary + window - page : position + window)
            // Sound because `windowEnd` stays within the segment's file bytes, so the window is inside the file.
            try unsafe reader.withBytes(atFileOffset: load.inputOffset + position, count: Int(windowEnd - position)) {
                window in try unsafe body(window, position)
            }
            position = windowEnd
        }
        if available < wanted && reportsTruncation {
            throw ELFCoreError(
                path: reader.core.path,
                .truncated(
                    what: "PT_LOAD segment at physical address \(hex(load.input.physicalAddress))",
                    offset: load.input.offset, needed: load.input.fileSize, fileSize: fileSize))
        }
    }

    /// Writes the bytes of segment positions `segmentPosition ..< + window.count`, leaving zero pages (if asked)
    /// and frames `keep` does not hold as holes.
    private func writeWindow(
        _ window: UnsafeRawBufferPointer, segmentPosition: UInt64, load: ProgramHeader, output: some DumpOutput,
        excludeZeroPages: Bool, keep: PageBitmap?, statistics: inout WriteStatistics
    ) throws {
        let page = UInt64(pageSize)
        var runStart = 0  // start (in window) of the pending run of written pages
        var index = 0
        func flush(upTo end: Int) throws {
            guard end > runStart else { return }
            // Sound because `runStart < end <= window.count`.
            let run = unsafe UnsafeRawBufferPointer(rebasing: window[runStart..<end])
            try unsafe output.writeAll(run, atOffset: load.offset + segmentPosition + UInt64(runStart))
            statistics.bytesWritten += UInt64(run.count)
        }
        while index < window.count {
            let address = load.physicalAddress + segmentPosition + UInt64(index)
            // Sound because `index < pageEnd <= window.count` for the zero-page test's slice below.
            let pageEnd = min(window.count, index + Int(page - address % page))
            statistics.totalPages += 1
            if let keep, !keep.contains(address / page) {
                try flush(upTo: index)
                runStart = pageEnd
                statistics.excludedFilteredPages += 1
            } else if unsafe excludeZeroPages && isZero(UnsafeRawBufferPointer(rebasing: window[index..<pageEnd])) {
                try flush(upTo: index)
                runStart = pageEnd
                statistics.excludedZeroPages += 1
            } else {
                statistics.writtenPages += 1
            }
            index = pageEnd
        }
        try flush(upTo: window.count)
    }
}

/// Whether every byte of `bytes` is zero (word at a time; a partial page's last bytes one by one).
func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let whole = bytes.count / 8 * 8
    // Sound because `whole <= bytes.count`, so both slices are inside `bytes`.
    if unsafe whole > 0 && repeatedWord(UnsafeRawBufferPointer(rebasing: bytes[..<whole])) != 0 { return false }
    return unsafe bytes[whole...].allSatisfy { $0 == 0 }
}
