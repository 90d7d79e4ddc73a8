import SystemCalls

/// What a dump writer did, kept current while it runs so a failed write can still be reported.
public struct WriteStatistics: Equatable, Sendable {
    /// Pages (4 KiB, partial pages at segment edges included) in the input's PT_LOAD file data.
    public var totalPages: UInt64 = 0
    /// Pages written to the output.
    public var writtenPages: UInt64 = 0
    /// Pages left out because every byte was zero (holes in the output).
    public var excludedZeroPages: UInt64 = 0
    /// Pages left out by the dump level's struct page filter (cache, user, free pages).
    public var excludedFilteredPages: UInt64 = 0
    /// Bytes written to the output (headers, notes and page data; holes not counted).
    public var bytesWritten: UInt64 = 0
    /// The size of the output file (holes included).
    public var outputSize: UInt64 = 0
    /// How the input was read: `mmap` or `read`.
    public var readMethod: String = "mmap"

    public init() {}
}

/// Writes an ELF64 core: one PT_NOTE holding every note of the input, then every PT_LOAD with its
/// addresses unchanged. With zero-page exclusion, zero pages are left as holes of a sparse file.
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

    public init(windowSize: Int = 64 << 20, readBufferSize: Int = 4 << 20, pageSize: Int = 4096) {
        precondition(windowSize % pageSize == 0 && readBufferSize % pageSize == 0, "windows must be whole pages")
        self.windowSize = windowSize
        self.readBufferSize = readBufferSize
        self.pageSize = pageSize
    }

    /// The program headers of the output: the PT_NOTE for `noteSize` bytes, then the loads placed page-aligned
    /// (each at a file offset congruent to its physical address modulo the page size).
    public func layout(of core: ELFCore, noteSize: Int) -> (headers: [ProgramHeader], size: UInt64) {
        let loads = core.loadSegments.map(\.header)
        let count = 1 + loads.count
        let noteOffset = UInt64(ELFHeader.size + count * ELFHeader.programHeaderSize)
        var headers = [ProgramHeader(type: ProgramHeader.typeNote, offset: noteOffset,
            fileSize: UInt64(noteSize), memorySize: UInt64(noteSize))]
        var cursor = noteOffset + UInt64(noteSize)
        let page = UInt64(pageSize)
        for load in loads {
            var placed = load
            placed.offset = (cursor + page - 1) / page * page + load.physicalAddress % page
            cursor = placed.offset + load.fileSize
            headers.append(placed)
        }
        return (headers, cursor)
    }

    /// Writes `core` to `output` (an empty regular file). `statistics` is updated as the write goes on.
    /// Pages whose frame `keep` does not hold (when given) become holes, like zero pages.
    public func write(
        _ core: ELFCore, to output: FileDescriptor, excludeZeroPages: Bool, keep: PageBitmap? = nil,
        statistics: inout WriteStatistics
    ) throws {
        let notes = core.notes.flatMap { $0.encoded() }
        let (headers, size) = layout(of: core, noteSize: notes.count)
        var head = ELFHeader(type: ELFHeader.typeCore, machine: ELFHeader.machineX86_64,
            flags: ELFHeader.flagIncomplete, programHeaderOffset: UInt64(ELFHeader.size),
            programHeaderCount: headers.count).encoded()
        for header in headers { head += header.encoded() }
        head += notes
        try head.withUnsafeBytes { try output.writeAll($0, atOffset: 0) }
        statistics.bytesWritten += UInt64(head.count)

        var reader = WindowReader(core: core, windowSize: windowSize, readBufferSize: readBufferSize)
        defer { reader.release() }
        for (input, placed) in zip(core.loadSegments.map(\.header), headers.dropFirst()) {
            try copySegment(input, to: placed, output: output, reader: &reader, excludeZeroPages: excludeZeroPages,
                keep: keep, statistics: &statistics)
        }
        statistics.readMethod = reader.usesRead ? "read" : "mmap"
        try output.truncate(to: size)  // the file ends where the last segment ends, even in a hole
        statistics.outputSize = size
        var complete: [UInt8] = []
        complete.appendLittleEndian(UInt32(0))
        try complete.withUnsafeBytes { try output.writeAll($0, atOffset: ELFHeader.flagsOffset) }
        try output.sync()
    }

    private func copySegment(
        _ input: ProgramHeader, to placed: ProgramHeader, output: FileDescriptor, reader: inout WindowReader,
        excludeZeroPages: Bool, keep: PageBitmap?, statistics: inout WriteStatistics
    ) throws {
        let page = UInt64(pageSize)
        let available = core(reader).fileSize > input.offset ? min(input.fileSize, core(reader).fileSize - input.offset) : 0
        // Windows end on page boundaries of the physical address space.
        let firstBoundary = (page - input.physicalAddress % page) % page
        var position: UInt64 = 0
        while position < available {
            let window = UInt64(reader.windowSize)
            let windowEnd = min(available, position == 0 && firstBoundary != 0 ? firstBoundary + window - page : position + window)
            try reader.withBytes(atFileOffset: input.offset + position, count: Int(windowEnd - position)) { window in
                try writeWindow(window, segmentPosition: position, input: input, placed: placed, output: output,
                    excludeZeroPages: excludeZeroPages, keep: keep, statistics: &statistics)
            }
            position = windowEnd
        }
        if available < input.fileSize {
            throw ELFCoreError(path: core(reader).path, .truncated(
                what: "PT_LOAD segment at physical address \(hex(input.physicalAddress))",
                offset: input.offset, needed: input.fileSize, fileSize: core(reader).fileSize))
        }
    }

    private func core(_ reader: WindowReader) -> ELFCore { reader.core }

    /// Writes the bytes of segment positions `segmentPosition ..< + window.count`, leaving zero pages out if asked.
    private func writeWindow(
        _ window: UnsafeRawBufferPointer, segmentPosition: UInt64, input: ProgramHeader, placed: ProgramHeader,
        output: FileDescriptor, excludeZeroPages: Bool, keep: PageBitmap?, statistics: inout WriteStatistics
    ) throws {
        let page = UInt64(pageSize)
        var runStart = 0  // start (in window) of the pending run of non-zero pages
        var index = 0
        func flush(upTo end: Int) throws {
            guard end > runStart else { return }
            let run = UnsafeRawBufferPointer(rebasing: window[runStart..<end])
            try output.writeAll(run, atOffset: placed.offset + segmentPosition + UInt64(runStart))
            statistics.bytesWritten += UInt64(run.count)
        }
        while index < window.count {
            let address = input.physicalAddress + segmentPosition + UInt64(index)
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

/// Whether every byte of `bytes` is zero (word at a time).
func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let words = bytes.count / 8
    var index = 0
    while index + 8 <= words {
        var accumulated: UInt64 = 0
        for word in index..<(index + 8) { accumulated |= bytes.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self) }
        if accumulated != 0 { return false }
        index += 8
    }
    while index < words {
        if bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) != 0 { return false }
        index += 1
    }
    for byte in bytes[(words * 8)...] where byte != 0 { return false }
    return true
}
