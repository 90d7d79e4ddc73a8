import SystemCalls

/// Writes a kdump-compressed file (the format of makedumpfile, read by crash and drgn/libkdumpfile): headers and
/// notes, the bitmap of present frames, the bitmap of dumped frames, one `page_desc` per dumped frame in pfn order,
/// then the page data, each page compressed on its own and stored raw when compression does not shrink it.
///
/// Pages are compressed by `threads` threads a batch at a time; memory stays bounded by the batch (input window
/// plus one output buffer), whatever the size of the dumped machine, beyond the two bitmaps. The descriptor table
/// holds every kept frame; zero pages (with level bit 1) all point at one shared copy of a zero page, as in
/// makedumpfile's files, so readers that refuse excluded frames still read them.
/// The header says `DUMP_DH_COMPRESSED_INCOMPLETE` until the last byte is written.
public struct KdumpWriter {
    /// The page compression.
    public var compression: PageCompression
    /// Compression threads (the capture kernel's CPUs).
    public var threads: Int
    /// Frames per batch (the input window is this many pages).
    public var batchPages: Int
    /// The page size (`block_size`).
    public let pageSize = 4096

    public init(compression: PageCompression, threads: Int = 0, batchPages: Int = 2048) {
        self.compression = compression
        self.threads = threads > 0 ? threads : ParallelWorkers.availableCPUs
        self.batchPages = batchPages
    }

    /// One stretch of frames with the file offset of its first byte in the input.
    struct Extent {
        var pfns: Range<UInt64>
        var fileOffset: UInt64
    }

    /// Where each present frame's bytes are in the input: direct-map segments first, then the kernel image
    /// segment for frames no other segment covers; whole pages only.
    static func extents(of core: ELFCore, pageSize: UInt64) -> [Extent] {
        let textRegion: UInt64 = 0xffff_ffff_8000_0000
        let ordered = core.loadSegments.map(\.header).sorted {
            ($0.virtualAddress >= textRegion ? 1 : 0, $0.physicalAddress)
                < ($1.virtualAddress >= textRegion ? 1 : 0, $1.physicalAddress)
        }
        var covered: [Range<UInt64>] = []
        var result: [Extent] = []
        for segment in ordered where segment.fileSize >= pageSize {
            let skip = (pageSize - segment.physicalAddress % pageSize) % pageSize
            let first = (segment.physicalAddress + skip) / pageSize
            let end = (segment.physicalAddress + segment.fileSize) / pageSize
            guard first < end else { continue }
            // Split around frames an earlier segment already provides.
            var pieces = [first..<end]
            for done in covered {
                pieces = pieces.flatMap { piece -> [Range<UInt64>] in
                    guard piece.overlaps(done) else { return [piece] }
                    var rest: [Range<UInt64>] = []
                    if piece.lowerBound < done.lowerBound { rest.append(piece.lowerBound..<done.lowerBound) }
                    if done.upperBound < piece.upperBound { rest.append(done.upperBound..<piece.upperBound) }
                    return rest
                }
            }
            for piece in pieces {
                result.append(Extent(pfns: piece,
                    fileOffset: segment.offset + skip + (piece.lowerBound - first) * pageSize))
            }
            covered.append(first..<end)
        }
        return result.sorted { $0.pfns.lowerBound < $1.pfns.lowerBound }
    }

    /// Writes `core`'s frames kept by `selection` to `output` (an empty regular file). Zero pages are left out
    /// when `excludeZeroPages`; `statistics` is kept current.
    public func write(
        _ core: ELFCore, selection: PageSelection, excludeZeroPages: Bool, to output: FileDescriptor,
        statistics: inout WriteStatistics
    ) throws {
        let page = UInt64(pageSize)
        let notes = core.notes.flatMap { $0.encoded() }
        var vmcoreInfoPlace: (offset: Int, size: Int)?
        var cursor = 0
        for note in core.notes {
            if note.name == "VMCOREINFO" && note.type == 0 {
                vmcoreInfoPlace = (cursor + 12 + (note.name.utf8.count + 1 + 3) / 4 * 4, note.descriptor.count)
            }
            cursor += note.encoded().count
        }
        var header = KdumpHeader(
            utsname: (try? Self.utsname(of: core)) ?? [], timestamp: core.vmcoreInfo?.crashTime ?? 0,
            status: compression.flag | KdumpHeader.incompleteFlag, blockSize: pageSize, maxMapnr: selection.endPfn,
            cpuCount: core.cpus.count, physBase: UInt64(bitPattern: core.vmcoreInfo?.number("phys_base") ?? 0),
            dumpLevel: selection.level.applied, noteSize: notes.count, vmcoreInfoInNotes: vmcoreInfoPlace)
        try output.writeAll(header.encoded())
        try header.subHeaderEncoded().withUnsafeBytes { try output.writeAll($0, atOffset: UInt64(pageSize)) }
        try notes.withUnsafeBytes { try output.writeAll($0, atOffset: header.noteOffset) }
        try selection.present.bytes(byteCount: header.bitmapSize).withUnsafeBytes {
            try output.writeAll($0, atOffset: header.firstBitmapOffset)
        }

        let kept = selection.kept
        var descriptorCursor = header.descriptorOffset
        var dataCursor = header.descriptorOffset + kept.population * UInt64(KdumpHeader.pageDescriptorSize)
        statistics.totalPages = selection.present.population

        let workers = (0..<threads).map { _ in PageCompressor(compression) }
        let bound = PageCompressor.bound(pageSize: pageSize)
        // The one stored zero page every zero frame points at.
        var zeroPage = [UInt8](repeating: 0, count: pageSize)
        var zeroFlags: UInt32 = 0
        var compressedZero = [UInt8](repeating: 0, count: bound)
        let zeroSize = zeroPage.withUnsafeBytes { source in
            compressedZero.withUnsafeMutableBytes { workers[0].compress(source, into: $0.baseAddress!, capacity: bound) }
        }
        if let zeroSize {
            zeroPage = Array(compressedZero[0..<zeroSize])
            zeroFlags = compression.flag
        }
        let zeroOffset = dataCursor
        if excludeZeroPages {
            try zeroPage.withUnsafeBytes { try output.writeAll($0, atOffset: zeroOffset) }
            dataCursor += UInt64(zeroPage.count)
        }
        let capacity = batchPages * bound
        let outputBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { outputBuffer.deallocate() }
        // Per page of the batch: stored size (0 for a left-out zero page) and flags.
        var sizes = [Int](repeating: 0, count: batchPages)
        var flags = [UInt32](repeating: 0, count: batchPages)
        var reader = WindowReader(core: core, windowSize: batchPages * pageSize, readBufferSize: batchPages * pageSize)
        defer { reader.release() }
        var descriptors: [UInt8] = []
        descriptors.reserveCapacity(batchPages * KdumpHeader.pageDescriptorSize)

        for extent in Self.extents(of: core, pageSize: page) {
            var batchStart = extent.pfns.lowerBound
            while batchStart < extent.pfns.upperBound {
                let batchEnd = min(extent.pfns.upperBound, batchStart + UInt64(batchPages))
                // Kept frames of the batch, relative to its start.
                var frames: [Int] = []
                for pfn in batchStart..<batchEnd where kept.contains(pfn) { frames.append(Int(pfn - batchStart)) }
                guard !frames.isEmpty else {
                    batchStart = batchEnd
                    continue
                }
                let windowPages = frames.last! + 1
                let fileOffset = extent.fileOffset + (batchStart - extent.pfns.lowerBound) * page
                try reader.withBytes(atFileOffset: fileOffset, count: windowPages * pageSize) { window in
                    let share = (frames.count + threads - 1) / threads
                    nonisolated(unsafe) let window = window
                    nonisolated(unsafe) let out = outputBuffer
                    // Each worker writes only its own slice of `sizes`, `flags` and the output buffer.
                    sizes.withUnsafeMutableBufferPointer { sizes in
                        flags.withUnsafeMutableBufferPointer { flags in
                            nonisolated(unsafe) let sizes = sizes
                            nonisolated(unsafe) let flags = flags
                            ParallelWorkers.run(count: min(threads, frames.count)) { worker in
                                let lower = worker * share
                                let upper = min(frames.count, lower + share)
                                guard lower < upper else { return }
                                let compressor = workers[worker]
                                for slot in lower..<upper {
                                    let start = frames[slot] * pageSize
                                    let source = UnsafeRawBufferPointer(rebasing: window[start..<(start + pageSize)])
                                    let target = out.baseAddress! + slot * bound
                                    if excludeZeroPages && isZero(source) {
                                        sizes[slot] = 0
                                    } else if let size = compressor.compress(source, into: target, capacity: bound) {
                                        sizes[slot] = size
                                        flags[slot] = compression.flag
                                    } else {
                                        target.copyMemory(from: source.baseAddress!, byteCount: pageSize)
                                        sizes[slot] = pageSize
                                        flags[slot] = 0
                                    }
                                }
                            }
                        }
                    }
                }
                descriptors.removeAll(keepingCapacity: true)
                var batchBytes = 0
                for slot in 0..<frames.count {
                    let size = sizes[slot]
                    guard size > 0 else {
                        descriptors.appendLittleEndian(zeroOffset)
                        descriptors.appendLittleEndian(UInt32(zeroPage.count))
                        descriptors.appendLittleEndian(zeroFlags)
                        descriptors.appendLittleEndian(UInt64(0))
                        statistics.excludedZeroPages += 1
                        continue
                    }
                    // Pack the stored page right after the previous one (slots are `bound` apart).
                    let source = outputBuffer.baseAddress! + slot * bound
                    if batchBytes != slot * bound {
                        (outputBuffer.baseAddress! + batchBytes).copyMemory(from: source, byteCount: size)
                    }
                    descriptors.appendLittleEndian(dataCursor + UInt64(batchBytes))
                    descriptors.appendLittleEndian(UInt32(size))
                    descriptors.appendLittleEndian(flags[slot])
                    descriptors.appendLittleEndian(UInt64(0))
                    batchBytes += size
                    statistics.writtenPages += 1
                }
                if batchBytes > 0 {
                    try output.writeAll(UnsafeRawBufferPointer(rebasing: outputBuffer[0..<batchBytes]),
                        atOffset: dataCursor)
                }
                try descriptors.withUnsafeBytes { try output.writeAll($0, atOffset: descriptorCursor) }
                dataCursor += UInt64(batchBytes)
                descriptorCursor += UInt64(descriptors.count)
                statistics.bytesWritten += UInt64(batchBytes + descriptors.count)
                batchStart = batchEnd
            }
        }
        statistics.readMethod = reader.usesRead ? "read" : "mmap"
        statistics.excludedFilteredPages = selection.present.population - selection.kept.population
        try kept.bytes(byteCount: header.bitmapSize).withUnsafeBytes {
            try output.writeAll($0, atOffset: header.secondBitmapOffset)
        }
        try output.truncate(to: dataCursor)
        statistics.outputSize = dataCursor
        try output.sync()
        header.status = compression.flag
        var status: [UInt8] = []
        status.appendLittleEndian(header.status)
        try status.withUnsafeBytes { try output.writeAll($0, atOffset: KdumpHeader.statusOffset) }
        try output.sync()
    }

    /// The crashed kernel's `init_uts_ns.name` (6 × 65 bytes), for the header.
    static func utsname(of core: ELFCore) throws -> [UInt8] {
        guard let info = core.vmcoreInfo, let symbol = info.symbol("init_uts_ns") else { return [] }
        return try core.readKernelVirtual(symbol + UInt64(info.offset("uts_namespace.name") ?? 0), count: 390,
            what: "init_uts_ns.name")
    }
}
