import DumpFormat
import SystemCalls

/// Writes an ELF64 core: one PT_NOTE holding every note of the input, then PT_LOAD segments with the input's
/// addresses. Without a page filter every input PT_LOAD is copied whole; with one, each input PT_LOAD becomes one
/// PT_LOAD per run of kept frames, packed one after the other, so left-out memory takes no room in the file and
/// reading it fails instead of returning made-up bytes (as in makedumpfile's `-E` files). Zero pages, and frames
/// left out between runs joined to keep the segment count in ELF's 16-bit range, are holes of a sparse file.
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
    /// Most PT_LOAD segments written: runs of kept frames are joined across ever larger gaps until they fit
    /// (below `PN_XNUM`, which some readers, vmcore-dmesg among them, do not understand).
    public var maximumLoads: Int

    public init(
        windowSize: Int = 64 << 20, readBufferSize: Int = 4 << 20, pageSize: Int = 4096,
        maximumLoads: Int = 65_000
    ) {
        precondition(windowSize % pageSize == 0 && readBufferSize % pageSize == 0, "windows must be whole pages")
        precondition(maximumLoads > 0, "at least one PT_LOAD")
        self.windowSize = windowSize
        self.readBufferSize = readBufferSize
        self.pageSize = pageSize
        self.maximumLoads = maximumLoads
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
        while gap < 1 << 40 {
            var count = 0
            for range in frames where count <= maximumLoads {
                count += keep.runCount(in: range, mergingGapsBelow: gap, limit: maximumLoads - count)
            }
            if count <= maximumLoads { break }
            gap *= 2
        }
        var result: [PlacedLoad] = []
        for input in inputs where input.fileSize > 0 {
            for run in keep.runs(in: input.frames(pageSize: page), mergingGapsBelow: gap) {
                let lower = max(input.physicalAddress, run.lowerBound * page) - input.physicalAddress
                let upper = min(input.physicalAddress + input.fileSize, run.upperBound * page) - input.physicalAddress
                var header = input
                header.virtualAddress = input.virtualAddress &+ lower
                header.physicalAddress = input.physicalAddress + lower
                header.fileSize = upper - lower
                // Memory past the input's file data (p_memsz > p_filesz) stays with the run that ends there.
                header.memorySize = upper == input.fileSize ? input.memorySize - lower : upper - lower
                result.append(PlacedLoad(header: header, input: input, inputOffset: input.offset + lower))
            }
        }
        return result
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
        for index in placed.indices where !placed[index].header.mapsKernelText {
            let load = placed[index].header
            placed[index].header.offset = (cursor + page - 1) / page * page + load.physicalAddress % page
            cursor = placed[index].header.offset + load.fileSize
            directMap.append(index)
        }
        let byStart = directMap.sorted { placed[$0].header.physicalAddress < placed[$1].header.physicalAddress }
        let starts = byStart.map { placed[$0].header.physicalAddress }
        for index in placed.indices where placed[index].header.mapsKernelText {
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

    /// Writes `core` to `output` (an empty regular file). `statistics` is updated as the write goes on.
    /// Frames `keep` (when given) does not hold are not written.
    public func write(
        _ core: ELFCore, to output: FileDescriptor, excludeZeroPages: Bool, keep: PageBitmap? = nil,
        statistics: inout WriteStatistics
    ) throws {
        let notes = core.notes.flatMap { $0.encoded() }
        let (headers, loads, size) = place(self.loads(of: core, keep: keep), noteSize: notes.count)
        var head = ELFHeader(
            type: ELFHeader.typeCore, machine: ELFHeader.machineX86_64,
            flags: ELFHeader.flagIncomplete, programHeaderOffset: UInt64(ELFHeader.size),
            programHeaderCount: headers.count
        ).encoded()
        for header in headers { head += header.encoded() }
        head += notes
        try head.withUnsafeBytes { try output.writeAll($0, atOffset: 0) }
        statistics.bytesWritten += UInt64(head.count)

        // Frames the input holds, each once (the kernel text mapping repeats direct-map frames).
        let page = UInt64(pageSize)
        var inputFrames: UInt64 = 0
        var frameEnd: UInt64 = 0
        let frameRanges = core.loadSegments.map(\.header).filter { $0.fileSize > 0 }.map { $0.frames(pageSize: page) }
        for range in frameRanges.sorted(by: { $0.lowerBound < $1.lowerBound }) where range.upperBound > frameEnd {
            inputFrames += range.upperBound - max(range.lowerBound, frameEnd)
            frameEnd = range.upperBound
        }
        var reader = WindowReader(core: core, windowSize: windowSize, readBufferSize: readBufferSize)
        defer { reader.release() }
        for load in loads where !load.isAlias {
            try copy(
                load, output: output, reader: &reader, excludeZeroPages: excludeZeroPages, keep: keep,
                statistics: &statistics)
        }
        // Frames of no output segment were left out by the filter.
        if inputFrames > statistics.totalPages {
            statistics.excludedFilteredPages += inputFrames - statistics.totalPages
            statistics.totalPages = inputFrames
        }
        statistics.readMethod = reader.usesRead ? "read" : "mmap"
        try output.truncate(to: size)  // the file ends where the last segment ends, even in a hole
        statistics.outputSize = size
        var complete: [UInt8] = []
        complete.appendLittleEndian(UInt32(0))
        try complete.withUnsafeBytes { try output.writeAll($0, atOffset: ELFHeader.flagsOffset) }
        try output.sync()
    }

    /// Copies one output segment's bytes, window by window.
    private func copy(
        _ load: PlacedLoad, output: FileDescriptor, reader: inout WindowReader, excludeZeroPages: Bool,
        keep: PageBitmap?, statistics: inout WriteStatistics
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
            try reader.withBytes(atFileOffset: load.inputOffset + position, count: Int(windowEnd - position)) {
                window in
                try writeWindow(
                    window, segmentPosition: position, load: load.header, output: output,
                    excludeZeroPages: excludeZeroPages, keep: keep, statistics: &statistics)
            }
            position = windowEnd
        }
        if available < wanted {
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
        _ window: UnsafeRawBufferPointer, segmentPosition: UInt64, load: ProgramHeader, output: FileDescriptor,
        excludeZeroPages: Bool, keep: PageBitmap?, statistics: inout WriteStatistics
    ) throws {
        let page = UInt64(pageSize)
        var runStart = 0  // start (in window) of the pending run of written pages
        var index = 0
        func flush(upTo end: Int) throws {
            guard end > runStart else { return }
            let run = UnsafeRawBufferPointer(rebasing: window[runStart..<end])
            try output.writeAll(run, atOffset: load.offset + segmentPosition + UInt64(runStart))
            statistics.bytesWritten += UInt64(run.count)
        }
        while index < window.count {
            let address = load.physicalAddress + segmentPosition + UInt64(index)
            let pageEnd = min(window.count, index + Int(page - address % page))
            statistics.totalPages += 1
            if let keep, !keep.contains(address / page) {
                try flush(upTo: index)
                runStart = pageEnd
                statistics.excludedFilteredPages += 1
            } else if excludeZeroPages && isZero(UnsafeRawBufferPointer(rebasing: window[index..<pageEnd])) {
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
    if whole > 0 && repeatedWord(UnsafeRawBufferPointer(rebasing: bytes[..<whole])) != 0 { return false }
    return bytes[whole...].allSatisfy { $0 == 0 }
}
