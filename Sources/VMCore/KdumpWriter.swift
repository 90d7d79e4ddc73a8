import DumpFormat
import SystemCalls

/// Writes a kdump-compressed file (the format of makedumpfile, read by crash and drgn/libkdumpfile): headers and
/// notes, the bitmap of present frames, the bitmap of dumped frames, one `page_desc` per dumped frame in pfn order,
/// then the page data, each page compressed on its own and stored raw when compression does not shrink it.
///
/// Pages are compressed by `threads` threads a batch at a time, taking pages as they go, while the calling thread
/// first writes the previous batch; memory stays bounded by two batches' output buffers and one input window,
/// whatever the size of the dumped machine, beyond the two bitmaps. A page that repeats one 64-bit word (zero,
/// poison or fill patterns) is stored once and every frame holding it points at that copy. The descriptor table
/// holds every kept frame; zero pages (with level bit 1) all point at one shared copy of a zero page, as in
/// makedumpfile's files, so readers that refuse excluded frames still read them.
/// The header says `DUMP_DH_COMPRESSED_INCOMPLETE` until the last byte is written.
public struct KdumpWriter {
    /// The page compression.
    public var compression: PageCompression
    /// Compression threads (the capture kernel's CPUs).
    public var threads: Int
    /// Kept frames per batch; a batch's input window spans at most twice as many frames.
    public var batchPages: Int
    /// The page size (`block_size`).
    public let pageSize = 4096

    public init(compression: PageCompression, threads: Int = 0, batchPages: Int = 1024) {
        self.compression = compression
        self.threads = threads > 0 ? threads : ParallelWorkers.availableCPUs
        self.batchPages = batchPages
    }

    /// Writes `core`'s frames kept by `selection` to `output` (an empty regular file). Zero pages are left out
    /// when `excludeZeroPages`; `statistics` is kept current.
    public func write(
        _ core: ELFCore, selection: PageSelection, excludeZeroPages: Bool, to output: FileDescriptor,
        statistics: inout WriteStatistics
    ) throws {
        try core.checkLoadSegmentsInFile()
        var header = try writeHeader(of: core, selection: selection, to: output)
        let kept = selection.kept
        statistics.totalPages = selection.present.population
        let workers = (0..<threads).map { _ in PageCompressor(compression) }
        let store = try KdumpPageStore(
            output: output, compressor: workers[0], pageSize: pageSize,
            descriptorOffset: header.descriptorOffset,
            dataOffset: header.descriptorOffset + kept.population * UInt64(KdumpHeader.pageDescriptorSize),
            excludeZeroPages: excludeZeroPages, statistics: statistics)
        let usedRead = try compressPages(
            of: core, kept: kept, with: workers, into: store, excludeZeroPages: excludeZeroPages)
        statistics = store.statistics
        let dataCursor = store.dataCursor
        statistics.readMethod = usedRead ? "read" : "mmap"
        statistics.excludedFilteredPages = selection.present.population - selection.kept.population
        try output.writeAll(kept.bytes(byteCount: header.bitmapSize), atOffset: header.secondBitmapOffset)
        try output.truncate(to: dataCursor)
        statistics.outputSize = dataCursor
        try output.sync()
        try markComplete(&header, in: output)
    }

    /// Compresses and stores every kept frame, extent by extent, a batch at a time: `workers` threads compress
    /// one batch while the calling thread first stores the previous one. Returns whether the input was read
    /// with read(2) rather than mapped.
    func compressPages(
        of core: ELFCore, kept: PageBitmap, with workers: [PageCompressor], into store: KdumpPageStore,
        excludeZeroPages: Bool
    ) throws -> Bool {
        let page = UInt64(pageSize)
        let bound = PageCompressor.bound(pageSize: pageSize)
        // Two batches: one is compressed while the other is written.
        let batches = [KdumpBatch(capacity: batchPages, bound: bound), KdumpBatch(capacity: batchPages, bound: bound)]
        let windowPages = 2 * batchPages
        var reader = WindowReader(
            core: core, windowSize: windowPages * pageSize, readBufferSize: windowPages * pageSize)
        defer { reader.release() }
        var pending: KdumpBatch?
        var current = 0
        let flag = compression.flag
        let threads = self.threads
        let size = pageSize

        for extent in Self.extents(of: core, pageSize: page) {
            var batchStart = kept.next(true, from: extent.pfns.lowerBound, below: extent.pfns.upperBound)
            while batchStart < extent.pfns.upperBound {
                // Up to `batchPages` kept frames within a window of `windowPages` frames.
                let batch = batches[current]
                batch.frames.removeAll(keepingCapacity: true)
                let windowEnd = min(extent.pfns.upperBound, batchStart + UInt64(windowPages))
                var pfn = batchStart
                while pfn < windowEnd && batch.frames.count < batchPages {
                    batch.frames.append(Int(pfn - batchStart))
                    pfn = kept.next(true, from: pfn + 1, below: windowEnd)
                }
                let fileOffset = extent.fileOffset + (batchStart - extent.pfns.lowerBound) * page
                let previous = pending
                // Sound because only worker 0 writes `failure`, and it is read after ParallelWorkers.run joins.
                nonisolated(unsafe) var failure: (any Error)?
                // Sound because the window reaches the batch's last frame, so each `start + size` slice is inside it.
                try unsafe reader.withBytes(atFileOffset: fileOffset, count: (batch.frames.last! + 1) * pageSize) {
                    window in
                    // Sound because the window stays mapped until withBytes returns, after every worker joined,
                    // and the workers only read it.
                    nonisolated(unsafe) let window = unsafe window
                    let next = WorkCounter()
                    ParallelWorkers.run(count: min(threads, batch.frames.count)) { worker in
                        // The calling thread writes the previous batch first, then joins in.
                        if worker == 0, let previous {
                            do { try store.store(previous) } catch { unsafe failure = error }
                        }
                        let compressor = workers[worker]
                        while true {
                            let first = next.take(32)
                            guard first < batch.frames.count else { break }
                            for slot in first..<min(first + 32, batch.frames.count) {
                                let start = batch.frames[slot] * size
                                let source = unsafe UnsafeRawBufferPointer(rebasing: window[start..<(start + size)])
                                unsafe batch.compress(
                                    source, slot: slot, with: compressor, flag: flag,
                                    excludeZeroPages: excludeZeroPages)
                            }
                        }
                    }
                }
                if let failure = unsafe failure { throw failure }
                pending = batch
                current ^= 1
                batchStart = kept.next(true, from: pfn, below: extent.pfns.upperBound)
            }
        }
        if let pending { try store.store(pending) }
        return reader.usesRead
    }
}
