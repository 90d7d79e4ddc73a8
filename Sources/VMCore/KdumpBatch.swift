/// One batch of kept frames: where each is in the input window, then how compression stored it.
// Sound because the object owns its six allocations (freed in deinit) and every use of them is marked itself.
@safe final class KdumpBatch: @unchecked Sendable {
    // Threads write disjoint slots of `sizes`, `flags`, `words`, `hashes`, `duplicates` and `buffer` between the
    // batch's start and the join that ends it; only then does one thread read them.
    /// Page index in the window of each kept frame.
    var frames: [Int] = []
    /// The window's offset in the input, and the place of the batch's first frame among all kept frames.
    var fileOffset: UInt64 = 0
    var firstOrdinal = 0
    /// Per slot: the stored size; 0 for a zero page left out; -1 for a page repeating `words[slot]`; -2 for a page
    /// with the bytes of the stored page `duplicates[slot]`.
    let sizes: UnsafeMutableBufferPointer<Int>
    let flags: UnsafeMutableBufferPointer<UInt32>
    let words: UnsafeMutableBufferPointer<UInt64>
    /// Per slot: the hash (`pageHash`) of a page stored in more than half its size, or where the stored page a
    /// duplicate points at is.
    let hashes: UnsafeMutableBufferPointer<UInt64>
    let duplicates: UnsafeMutableBufferPointer<StoredPageIndex.Entry>
    /// Slot `i`'s stored bytes start at `i * bound`.
    let buffer: UnsafeMutableRawBufferPointer
    let bound: Int

    init(capacity: Int, bound: Int) {
        self.bound = bound
        frames.reserveCapacity(capacity)
        // Sound because each buffer is allocated once here for `capacity` slots and freed only in deinit.
        unsafe sizes = .allocate(capacity: capacity)
        unsafe flags = .allocate(capacity: capacity)
        unsafe words = .allocate(capacity: capacity)
        unsafe hashes = .allocate(capacity: capacity)
        unsafe duplicates = .allocate(capacity: capacity)
        unsafe buffer = .allocate(byteCount: capacity * bound, alignment: 64)
    }

    deinit {
        // Sound because deinit runs once, after the last user of the batch.
        unsafe sizes.deallocate()
        unsafe flags.deallocate()
        unsafe words.deallocate()
        unsafe hashes.deallocate()
        unsafe duplicates.deallocate()
        unsafe buffer.deallocate()
    }

    /// Compresses `page` into slot `slot`, or notes it as a zero or one-word page. A page stored in more than half
    /// its size (`indexes(size:pageSize:)`) is then looked for among the pages `finder` knows, and noted as a
    /// duplicate of the one it finds: repeats of such pages cost the most room, they are a minority, and they are
    /// hashed while still in the cache, so looking costs little beside compression.
    func compress(
        _ page: UnsafeRawBufferPointer, slot: Int, with compressor: PageCompressor, flag: UInt32,
        excludeZeroPages: Bool, finder: DuplicateFinder
    ) {
        // Sound because `slot < capacity` (a kept frame of the batch); slot `i` owns `bound` bytes at `i * bound`.
        if let word = unsafe repeatedWord(page) {
            unsafe words[slot] = word
            unsafe sizes[slot] = word == 0 && excludeZeroPages ? 0 : -1
            return
        }
        let target = unsafe buffer.baseAddress! + slot * bound
        if let size = unsafe compressor.compress(page, into: target, capacity: bound) {
            unsafe sizes[slot] = size
            unsafe flags[slot] = flag
        } else {
            unsafe target.copyMemory(from: page.baseAddress!, byteCount: page.count)
            unsafe sizes[slot] = page.count
            unsafe flags[slot] = 0
        }
        guard unsafe Self.indexes(size: sizes[slot], pageSize: page.count) else { return }
        let hash = unsafe pageHash(page)
        unsafe hashes[slot] = hash
        if let stored = unsafe finder.stored(matching: page, hash: hash, ordinal: firstOrdinal + slot) {
            unsafe duplicates[slot] = stored
            unsafe sizes[slot] = -2
        }
    }

    /// Whether a page stored in `size` bytes is hashed, looked for and indexed: more than half a page.
    static func indexes(size: Int, pageSize: Int) -> Bool { size > pageSize / 2 }
}

/// The 64-bit word a page repeats from its first byte to its last, if it does (checked 64 bytes at a time).
func repeatedWord(_ page: UnsafeRawBufferPointer) -> UInt64? {
    guard page.count >= 8, page.count % 8 == 0 else { return nil }
    // Sound because the guard above makes `page.count` a multiple of 8, so each 8-byte load ends in the page.
    let first = unsafe page.loadUnaligned(as: UInt64.self)
    var offset = 8
    while offset < page.count {
        var differs: UInt64 = 0
        let end = min(page.count, offset + 64)
        while offset < end {
            unsafe differs |= page.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ first
            offset += 8
        }
        if differs != 0 { return nil }
    }
    return first
}
