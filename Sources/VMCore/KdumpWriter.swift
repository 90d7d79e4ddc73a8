import DumpFormat
import Synchronization
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

    /// One stretch of frames with the file offset of its first byte in the input.
    struct Extent {
        var pfns: Range<UInt64>
        var fileOffset: UInt64
    }

    /// Where each present frame's bytes are in the input: direct-map segments first, then the kernel image
    /// segment for frames no other segment covers; whole pages only.
    static func extents(of core: ELFCore, pageSize: UInt64) -> [Extent] {
        let ordered = core.loadSegments.map(\.header).sorted {
            ($0.mapsKernelText ? 1 : 0, $0.physicalAddress) < ($1.mapsKernelText ? 1 : 0, $1.physicalAddress)
        }
        // Frames already provided, as disjoint ranges sorted by start (a filtered dump can have many segments).
        var covered: [Range<UInt64>] = []
        var result: [Extent] = []
        for segment in ordered where segment.fileSize >= pageSize {
            let skip = (pageSize - segment.physicalAddress % pageSize) % pageSize
            let first = (segment.physicalAddress + skip) / pageSize
            let end = (segment.physicalAddress + segment.fileSize) / pageSize
            guard first < end else { continue }
            // Split around frames an earlier segment already provides: the covered ranges that overlap start at
            // the last one beginning at or below `first`.
            let candidate = max(0, covered.partitionPoint { $0.lowerBound > first } - 1)
            var cursor = first
            var index = candidate
            while cursor < end {
                let next = index < covered.count ? covered[index] : end..<end
                if next.upperBound <= cursor {
                    index += 1
                    continue
                }
                let pieceEnd = min(end, max(cursor, next.lowerBound))
                if cursor < pieceEnd {
                    result.append(Extent(pfns: cursor..<pieceEnd, fileOffset: segment.offset + skip + (cursor - first) * pageSize))
                }
                cursor = max(pieceEnd, min(end, next.upperBound))
                index += 1
            }
            // Record first..<end, joining the ranges it touches.
            var lower = first, upper = end
            var from = candidate
            while from < covered.count && covered[from].upperBound < first { from += 1 }
            var to = from
            while to < covered.count && covered[to].lowerBound <= end {
                lower = min(lower, covered[to].lowerBound)
                upper = max(upper, covered[to].upperBound)
                to += 1
            }
            covered.replaceSubrange(from..<to, with: [lower..<upper])
        }
        return result.sorted { $0.pfns.lowerBound < $1.pfns.lowerBound }
    }

    /// Writes `core`'s frames kept by `selection` to `output` (an empty regular file). Zero pages are left out
    /// when `excludeZeroPages`; `statistics` is kept current.
    public func write(
        _ core: ELFCore, selection: PageSelection, excludeZeroPages: Bool, to output: FileDescriptor,
        statistics: inout WriteStatistics
    ) throws {
        try core.checkLoadSegmentsInFile()
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
        statistics.totalPages = selection.present.population
        let workers = (0..<threads).map { _ in PageCompressor(compression) }
        let store = try KdumpPageStore(output: output, compressor: workers[0], pageSize: pageSize,
            descriptorOffset: header.descriptorOffset,
            dataOffset: header.descriptorOffset + kept.population * UInt64(KdumpHeader.pageDescriptorSize),
            excludeZeroPages: excludeZeroPages, statistics: statistics)
        let bound = PageCompressor.bound(pageSize: pageSize)
        // Two batches: one is compressed while the other is written.
        let batches = [KdumpBatch(capacity: batchPages, bound: bound), KdumpBatch(capacity: batchPages, bound: bound)]
        let windowPages = 2 * batchPages
        var reader = WindowReader(core: core, windowSize: windowPages * pageSize, readBufferSize: windowPages * pageSize)
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
                nonisolated(unsafe) var failure: (any Error)?
                try reader.withBytes(atFileOffset: fileOffset, count: (batch.frames.last! + 1) * pageSize) { window in
                    nonisolated(unsafe) let window = window
                    let next = WorkCounter()
                    ParallelWorkers.run(count: min(threads, batch.frames.count)) { worker in
                        // The calling thread writes the previous batch first, then joins in.
                        if worker == 0, let previous {
                            do { try store.store(previous) } catch { failure = error }
                        }
                        let compressor = workers[worker]
                        while true {
                            let first = next.take(32)
                            guard first < batch.frames.count else { break }
                            for slot in first..<min(first + 32, batch.frames.count) {
                                let start = batch.frames[slot] * size
                                let source = UnsafeRawBufferPointer(rebasing: window[start..<(start + size)])
                                batch.compress(source, slot: slot, with: compressor, flag: flag,
                                    excludeZeroPages: excludeZeroPages)
                            }
                        }
                    }
                }
                if let failure { throw failure }
                pending = batch
                current ^= 1
                batchStart = kept.next(true, from: pfn, below: extent.pfns.upperBound)
            }
        }
        if let pending { try store.store(pending) }
        statistics = store.statistics
        let dataCursor = store.dataCursor
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
        let offset = info.offset("uts_namespace.name") ?? 0
        guard (0..<VMCoreInfo.maximumFieldOffset).contains(offset) else { return [] }
        return try core.readKernelVirtual(symbol &+ UInt64(offset), count: 390,
            what: "init_uts_ns.name")
    }
}

/// Hands out work items to threads: each `take` returns the first of the next `count` items.
final class WorkCounter: Sendable {
    private let next = Atomic<Int>(0)

    func take(_ count: Int) -> Int { next.wrappingAdd(count, ordering: .relaxed).oldValue }
}

/// One batch of kept frames: where each is in the input window, then how compression stored it.
final class KdumpBatch: @unchecked Sendable {
    // Threads write disjoint slots of `sizes`, `flags`, `words` and `buffer` between the batch's start and the
    // join that ends it; only then does one thread read them.
    /// Page index in the window of each kept frame.
    var frames: [Int] = []
    /// Per slot: the stored size; 0 for a zero page left out; -1 for a page repeating `words[slot]`.
    let sizes: UnsafeMutableBufferPointer<Int>
    let flags: UnsafeMutableBufferPointer<UInt32>
    let words: UnsafeMutableBufferPointer<UInt64>
    /// Slot `i`'s stored bytes start at `i * bound`.
    let buffer: UnsafeMutableRawBufferPointer
    let bound: Int

    init(capacity: Int, bound: Int) {
        self.bound = bound
        frames.reserveCapacity(capacity)
        sizes = .allocate(capacity: capacity)
        flags = .allocate(capacity: capacity)
        words = .allocate(capacity: capacity)
        buffer = .allocate(byteCount: capacity * bound, alignment: 64)
    }

    deinit {
        sizes.deallocate()
        flags.deallocate()
        words.deallocate()
        buffer.deallocate()
    }

    /// Compresses `page` into slot `slot`, or notes it as a zero or one-word page.
    func compress(_ page: UnsafeRawBufferPointer, slot: Int, with compressor: PageCompressor, flag: UInt32,
        excludeZeroPages: Bool)
    {
        if let word = repeatedWord(page) {
            words[slot] = word
            sizes[slot] = word == 0 && excludeZeroPages ? 0 : -1
            return
        }
        let target = buffer.baseAddress! + slot * bound
        if let size = compressor.compress(page, into: target, capacity: bound) {
            sizes[slot] = size
            flags[slot] = flag
        } else {
            target.copyMemory(from: page.baseAddress!, byteCount: page.count)
            sizes[slot] = page.count
            flags[slot] = 0
        }
    }
}

/// The 64-bit word a page repeats from its first byte to its last, if it does (checked 64 bytes at a time).
func repeatedWord(_ page: UnsafeRawBufferPointer) -> UInt64? {
    guard page.count >= 8, page.count % 8 == 0 else { return nil }
    let first = page.loadUnaligned(as: UInt64.self)
    var offset = 8
    while offset < page.count {
        var differs: UInt64 = 0
        let end = min(page.count, offset + 64)
        while offset < end {
            differs |= page.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ first
            offset += 8
        }
        if differs != 0 { return nil }
    }
    return first
}

/// The descriptor table and page data of a kdump file as batches are written, in frame order: cursors, the one
/// stored copy of each repeated-word page, and the counts. Used by one thread at a time.
final class KdumpPageStore: @unchecked Sendable {
    private let output: FileDescriptor
    private let compressor: PageCompressor
    private let pageSize: Int
    private let excludeZeroPages: Bool
    private var descriptorCursor: UInt64
    private(set) var dataCursor: UInt64
    var statistics: WriteStatistics
    private var descriptors: [UInt8] = []
    /// Where the stored copy of a page repeating a word is: offset, size, flags.
    private var copies: [UInt64: (offset: UInt64, size: UInt32, flags: UInt32)] = [:]
    /// Most distinct repeated words remembered (a bound on memory; later ones are stored per frame).
    private let maximumCopies = 4096

    init(output: FileDescriptor, compressor: PageCompressor, pageSize: Int, descriptorOffset: UInt64,
        dataOffset: UInt64, excludeZeroPages: Bool, statistics: WriteStatistics) throws
    {
        self.output = output
        self.compressor = compressor
        self.pageSize = pageSize
        self.excludeZeroPages = excludeZeroPages
        self.statistics = statistics
        descriptorCursor = descriptorOffset
        dataCursor = dataOffset
        if excludeZeroPages {
            // The one stored zero page every left-out zero frame points at, first in the data.
            var bytes = [UInt8](repeating: 0, count: PageCompressor.bound(pageSize: pageSize))
            let copy = bytes.withUnsafeMutableBytes { storeWordPage(0, into: $0.baseAddress!, capacity: $0.count) }
            try bytes.withUnsafeBytes { try output.writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<Int(copy.size)]), atOffset: dataCursor) }
            copies[0] = (dataCursor, copy.size, copy.flags)
            dataCursor += UInt64(copy.size)
        }
    }

    /// Compresses a page repeating `word` into `target`; returns its size and flags (raw when it does not shrink).
    private func storeWordPage(_ word: UInt64, into target: UnsafeMutableRawPointer, capacity: Int) -> (size: UInt32, flags: UInt32) {
        let page = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 8)
        defer { page.deallocate() }
        for offset in stride(from: 0, to: pageSize, by: 8) { page.storeBytes(of: word, toByteOffset: offset, as: UInt64.self) }
        if let size = compressor.compress(UnsafeRawBufferPointer(page), into: target, capacity: capacity) {
            return (UInt32(size), compressor.compression.flag)
        }
        target.copyMemory(from: page.baseAddress!, byteCount: pageSize)
        return (UInt32(pageSize), 0)
    }

    /// Appends `batch`'s descriptors and stored pages.
    func store(_ batch: KdumpBatch) throws {
        descriptors.removeAll(keepingCapacity: true)
        func describe(_ offset: UInt64, _ size: UInt32, _ flags: UInt32) {
            descriptors.appendLittleEndian(offset)
            descriptors.appendLittleEndian(size)
            descriptors.appendLittleEndian(flags)
            descriptors.appendLittleEndian(UInt64(0))
        }
        let base = batch.buffer.baseAddress!
        var packed = 0
        for slot in 0..<batch.frames.count {
            let size = batch.sizes[slot]
            if size == 0 {
                let zero = copies[0]!
                describe(zero.offset, zero.size, zero.flags)
                statistics.excludedZeroPages += 1
                continue
            }
            statistics.writtenPages += 1
            if size < 0 {
                let word = batch.words[slot]
                if let copy = copies[word] {
                    describe(copy.offset, copy.size, copy.flags)
                    continue
                }
                // Stored here, in room the slot reserved and did not use (packed <= slot * bound).
                let copy = storeWordPage(word, into: base + packed, capacity: batch.bound)
                describe(dataCursor + UInt64(packed), copy.size, copy.flags)
                if copies.count < maximumCopies { copies[word] = (dataCursor + UInt64(packed), copy.size, copy.flags) }
                packed += Int(copy.size)
                continue
            }
            // Pack the stored page right after the previous one (slots are `bound` apart).
            if packed != slot * batch.bound { (base + packed).copyMemory(from: base + slot * batch.bound, byteCount: size) }
            describe(dataCursor + UInt64(packed), UInt32(size), batch.flags[slot])
            packed += size
        }
        if packed > 0 { try output.writeAll(UnsafeRawBufferPointer(rebasing: batch.buffer[0..<packed]), atOffset: dataCursor) }
        try descriptors.withUnsafeBytes { try output.writeAll($0, atOffset: descriptorCursor) }
        dataCursor += UInt64(packed)
        descriptorCursor += UInt64(descriptors.count)
        statistics.bytesWritten += UInt64(packed + descriptors.count)
    }
}
