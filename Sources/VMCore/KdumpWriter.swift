import DumpFormat
import SystemCalls

/// Writes a kdump-compressed file (the format of makedumpfile, read by crash and drgn/libkdumpfile): headers and
/// notes, the bitmap of present frames, the bitmap of dumped frames, one `page_desc` per dumped frame in pfn order,
/// then the page data, each page compressed on its own and stored raw when compression does not shrink it.
///
/// Pages are compressed by `threads` threads taking pages as they go, batch after batch without waiting for each
/// other, and batches are written in frame order as they are done (`KdumpPipeline`); memory stays bounded by a few
/// batches' output buffers and input windows, whatever the size of the dumped machine, beyond the two bitmaps and the
/// index of stored pages (at most 2 MiB). A page that repeats one 64-bit word (zero, poison or fill patterns) is stored
/// once and every frame holding it points at that copy; so does a frame with the bytes of a page stored in more than
/// half a page at least `duplicateLag` kept frames before it (`StoredPageIndex`). The descriptor table
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
    /// How many kept frames after a stored page a frame with the same bytes must come to point at it rather than
    /// be stored again; at least `batchPages`. Fixed, so the file does not depend on the threads or batches.
    public var duplicateLag: Int
    /// The most stored pages indexed for later frames to point at (32 bytes each, in twice as many slots).
    public var indexedPages = 32768
    /// The page size (`block_size`).
    public let pageSize = 4096

    public init(compression: PageCompression, threads: Int = 0, batchPages: Int = 512, duplicateLag: Int = 2048) {
        self.compression = compression
        self.threads = threads > 0 ? threads : ParallelWorkers.availableCPUs
        self.batchPages = batchPages
        self.duplicateLag = max(duplicateLag, 1)
    }

    /// Writes `core`'s frames kept by `selection` to `output` (an empty regular file, or a `FlattenedOutput`: the
    /// page table is written after the pages it points at). Zero pages are left out when `excludeZeroPages`;
    /// `statistics` is kept current.
    public func write(
        _ core: ELFCore, selection: PageSelection, excludeZeroPages: Bool, to output: some DumpOutput,
        statistics: inout WriteStatistics
    ) throws {
        try core.checkLoadSegmentsInFile()
        var header = try writeHeader(of: core, selection: selection, to: output)
        let kept = selection.kept
        statistics.totalPages = selection.present.population
        let workers = (0..<threads).map { _ in PageCompressor(compression) }
        let index = StoredPageIndex(capacity: Int(min(kept.population, UInt64(indexedPages))), lag: duplicateLag)
        // The store's own compressor: any thread may store while the others compress.
        let store = try KdumpPageStore(
            output: output, compressor: PageCompressor(compression), pageSize: pageSize,
            descriptorOffset: header.descriptorOffset,
            dataOffset: header.descriptorOffset + kept.population * UInt64(KdumpHeader.pageDescriptorSize),
            excludeZeroPages: excludeZeroPages, statistics: statistics, index: index)
        let usedRead = try compressPages(
            of: core, kept: kept, with: workers, into: store, index: index, excludeZeroPages: excludeZeroPages)
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

    /// Compresses and stores every kept frame, in frame order, on `workers.count` threads (`KdumpPipeline`).
    /// Returns whether the input was read with read(2) rather than mapped.
    func compressPages(
        of core: ELFCore, kept: PageBitmap, with workers: [PageCompressor], into store: KdumpPageStore,
        index: StoredPageIndex, excludeZeroPages: Bool
    ) throws -> Bool {
        let plan = KdumpBatchPlan(
            kept: kept, extents: Self.extents(of: core, pageSize: UInt64(pageSize)),
            batchPages: max(1, min(batchPages, index.lag)), pageSize: pageSize)
        let windowBytes = plan.windowPages * pageSize
        let reader = WindowReader(core: core, windowSize: windowBytes, readBufferSize: windowBytes)
        let pipeline = KdumpPipeline(
            plan: plan, slots: min(workers.count + 1, 4), bound: PageCompressor.bound(pageSize: pageSize),
            reader: reader, store: store, compressors: workers, flag: compression.flag,
            excludeZeroPages: excludeZeroPages, index: index)
        try pipeline.run()
        return reader.usesRead
    }
}
