import DumpFormat
import SystemCalls

/// The descriptor table and page data of a kdump file as batches are written, in frame order: cursors, the one
/// stored copy of each repeated-word page, and the counts. Used by one thread at a time.
final class KdumpPageStore: @unchecked Sendable {
    private let output: any DumpOutput
    private let compressor: PageCompressor
    private let pageSize: Int
    private let excludeZeroPages: Bool
    private var descriptorCursor: UInt64
    private(set) var dataCursor: UInt64
    /// Where the data not yet sent to the device starts (a page boundary).
    private var writebackCursor: UInt64
    var statistics: WriteStatistics
    private var descriptors: [UInt8] = []
    /// Where the stored copy of a page repeating a word is: offset, size, flags.
    private var copies: [UInt64: (offset: UInt64, size: UInt32, flags: UInt32)] = [:]
    /// Most distinct repeated words remembered (a bound on memory; later ones are stored per frame).
    private let maximumCopies = 4096
    /// The stored pages later frames may point at, told about each batch once it is stored.
    private let index: StoredPageIndex
    private var indexed: [StoredPageIndex.Entry] = []

    init(
        output: any DumpOutput, compressor: PageCompressor, pageSize: Int, descriptorOffset: UInt64,
        dataOffset: UInt64, excludeZeroPages: Bool, statistics: WriteStatistics, index: StoredPageIndex
    ) throws {
        self.output = output
        self.index = index
        self.compressor = compressor
        self.pageSize = pageSize
        self.excludeZeroPages = excludeZeroPages
        self.statistics = statistics
        descriptorCursor = descriptorOffset
        dataCursor = dataOffset
        writebackCursor = dataOffset & ~UInt64(4095)
        if excludeZeroPages {
            // The one stored zero page every left-out zero frame points at, first in the data.
            var bytes = [UInt8](repeating: 0, count: PageCompressor.bound(pageSize: pageSize))
            // Sound because `bytes` has the compressor's bound for a page, and `copy.size` is at most that.
            let copy = unsafe bytes.withUnsafeMutableBytes {
                unsafe storeWordPage(0, into: $0.baseAddress!, capacity: $0.count)
            }
            try unsafe bytes.withUnsafeBytes {
                try unsafe output.writeAll(
                    UnsafeRawBufferPointer(rebasing: $0[0..<Int(copy.size)]), atOffset: dataCursor)
            }
            copies[0] = (dataCursor, copy.size, copy.flags)
            dataCursor += UInt64(copy.size)
        }
    }

    /// Compresses a page repeating `word` into `target`; returns its size and flags (raw when it does not shrink).
    private func storeWordPage(
        _ word: UInt64, into target: UnsafeMutableRawPointer, capacity: Int
    ) -> (size: UInt32, flags: UInt32) {
        // Sound because `page` is `pageSize` bytes filled in 8-byte steps, freed by the defer; `target` has `capacity`.
        let page = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 8)
        defer { unsafe page.deallocate() }
        for offset in stride(from: 0, to: pageSize, by: 8) {
            unsafe page.storeBytes(of: word, toByteOffset: offset, as: UInt64.self)
        }
        if let size = unsafe compressor.compress(UnsafeRawBufferPointer(page), into: target, capacity: capacity) {
            return (UInt32(size), compressor.compression.flag)
        }
        unsafe target.copyMemory(from: page.baseAddress!, byteCount: pageSize)
        return (UInt32(pageSize), 0)
    }

    /// Appends `batch`'s descriptors and stored pages.
    func store(_ batch: KdumpBatch) throws {
        descriptors.removeAll(keepingCapacity: true)
        indexed.removeAll(keepingCapacity: true)
        func describe(_ offset: UInt64, _ size: UInt32, _ flags: UInt32) {
            descriptors.appendLittleEndian(offset)
            descriptors.appendLittleEndian(size)
            descriptors.appendLittleEndian(flags)
            descriptors.appendLittleEndian(UInt64(0))
        }
        // Sound because `packed <= slot * bound` and each size fits its slot: copies and the write stay inside.
        let base = unsafe batch.buffer.baseAddress!
        var packed = 0
        for slot in 0..<batch.frames.count {
            let size = unsafe batch.sizes[slot]
            if size == 0 {
                let zero = copies[0]!
                describe(zero.offset, zero.size, zero.flags)
                statistics.excludedZeroPages += 1
                continue
            }
            statistics.writtenPages += 1
            if size == -2 {
                let stored = unsafe batch.duplicates[slot]
                describe(stored.outputOffset, UInt32(stored.size), UInt32(stored.flags))
                statistics.duplicatePages += 1
                continue
            }
            if size < 0 {
                let word = unsafe batch.words[slot]
                if let copy = copies[word] {
                    describe(copy.offset, copy.size, copy.flags)
                    continue
                }
                // Stored here, in room the slot reserved and did not use (packed <= slot * bound).
                let copy = unsafe storeWordPage(word, into: base + packed, capacity: batch.bound)
                describe(dataCursor + UInt64(packed), copy.size, copy.flags)
                if copies.count < maximumCopies { copies[word] = (dataCursor + UInt64(packed), copy.size, copy.flags) }
                packed += Int(copy.size)
                continue
            }
            let ordinal = batch.firstOrdinal + slot
            if KdumpBatch.indexes(size: size, pageSize: pageSize), ordinal < Int(UInt32.max), size <= Int(UInt16.max) {
                let inputOffset = batch.fileOffset + UInt64(batch.frames[slot] * pageSize)
                unsafe indexed.append(
                    .init(
                        hash: batch.hashes[slot], inputOffset: inputOffset, outputOffset: dataCursor + UInt64(packed),
                        ordinal: UInt32(ordinal), size: UInt16(size),
                        flags: UInt16(truncatingIfNeeded: batch.flags[slot])))
            }
            // Pack the stored page right after the previous one (slots are `bound` apart).
            if packed != slot * batch.bound {
                unsafe (base + packed).copyMemory(from: base + slot * batch.bound, byteCount: size)
            }
            unsafe describe(dataCursor + UInt64(packed), UInt32(size), batch.flags[slot])
            packed += size
        }
        if packed > 0 {
            try unsafe output.writeAll(UnsafeRawBufferPointer(rebasing: batch.buffer[0..<packed]), atOffset: dataCursor)
        }
        try output.writeAll(descriptors, atOffset: descriptorCursor)
        dataCursor += UInt64(packed)
        // The whole pages written so far go to the device while the next batches are compressed, so the final sync
        // waits only for the last ones.
        let written = dataCursor & ~UInt64(4095)
        if written > writebackCursor {
            output.startWriteback(atOffset: writebackCursor, count: written - writebackCursor)
            writebackCursor = written
        }
        descriptorCursor += UInt64(descriptors.count)
        statistics.bytesWritten += UInt64(packed + descriptors.count)
        index.record(indexed, storedFrames: batch.firstOrdinal + batch.frames.count)
    }
}
