import SystemCalls

/// The pages a kdump write has stored, by a hash of their bytes, so a later kept frame holding the same bytes points
/// at the stored copy instead of being stored again (a kdump `page_desc` may share its data with others;
/// makedumpfile's files do so for zero pages). Crashed kernels repeat whole pages: on the 7.3 harness dump, 4,416 of
/// 41,495 kept pages that are not one repeated word had the bytes of an earlier one, 19 % of the compressed data,
/// nearly all of it in pages that compress to more than half their size (18 %), the only ones indexed
/// (`KdumpBatch.indexes(size:pageSize:)`).
///
/// The file must not depend on the threads or the batch size, yet threads look pages up while batches are still
/// being stored. So a frame only sees pages stored at least `lag` kept frames before it (it waits until they are,
/// which the pipeline's few batches in flight make rare), the index keeps the first page stored for each hash, and
/// it never forgets one: which copy a frame points at is then a function of the frames alone. A hash is only a
/// hint; the thread that finds one compares the bytes with the stored page's own bytes, read again from the input.
///
/// Memory: `capacity` pages' entries (32 bytes each, in twice as many slots); pages stored once it is full are not
/// indexed.
// Sound because the slots are allocated once in init, freed only in deinit, and read or written only with
// `condition`'s lock held.
@safe final class StoredPageIndex: @unchecked Sendable {
    /// Where a stored page is: in the input (to compare bytes) and in the output (to point at).
    struct Entry {
        var hash: UInt64
        var inputOffset: UInt64
        var outputOffset: UInt64
        /// The kept frame's place in frame order; `UInt32.max` in an empty slot.
        var ordinal: UInt32
        var size: UInt16
        var flags: UInt16
    }

    let lag: Int
    private let slots: UnsafeMutableBufferPointer<Entry>
    private let capacity: Int
    private var count = 0
    /// Kept frames stored so far, in frame order.
    private var storedFrames = 0
    private var abandoned = false
    private let condition = ThreadCondition()

    init(capacity: Int, lag: Int) {
        self.lag = lag
        self.capacity = capacity
        var slotCount = 2
        while slotCount < 2 * capacity { slotCount *= 2 }
        let empty = Entry(hash: 0, inputOffset: 0, outputOffset: 0, ordinal: .max, size: 0, flags: 0)
        // Sound because the buffer is allocated and initialised here and freed only in deinit.
        unsafe slots = .allocate(capacity: slotCount)
        unsafe slots.initialize(repeating: empty)
    }

    deinit {
        // Sound because deinit runs once, after the last lookup and insert.
        unsafe slots.deallocate()
    }

    /// With the lock held: the slot holding `hash`, or the empty slot where it would go.
    private func slot(for hash: UInt64) -> Int {
        let mask = unsafe slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        // Sound because `index` is masked to the slot count, and at most half the slots are ever full.
        while unsafe slots[index].ordinal != .max && slots[index].hash != hash { index = (index + 1) & mask }
        return index
    }

    /// Records a batch's stored pages (in frame order), then that the frames before `storedFrames` are all stored.
    func record(_ entries: [Entry], storedFrames: Int) {
        condition.lock()
        for entry in entries where count < capacity {
            let index = slot(for: entry.hash)
            // Sound because `slot(for:)` returns an index inside `slots`.
            guard unsafe slots[index].ordinal == .max else { continue }
            unsafe slots[index] = entry
            count += 1
        }
        self.storedFrames = storedFrames
        condition.broadcast()
        condition.unlock()
    }

    /// The stored page with `hash` that the frame at `ordinal` may point at, if any; waits until every frame `lag`
    /// frames before it is stored. Nil once the write was abandoned.
    func lookup(_ hash: UInt64, ordinal: Int) -> Entry? {
        condition.lock()
        defer { condition.unlock() }
        while !abandoned && storedFrames + lag <= ordinal { condition.wait() }
        guard !abandoned else { return nil }
        // Sound because `slot(for:)` returns an index inside `slots`.
        let entry = unsafe slots[slot(for: hash)]
        guard entry.ordinal != .max, Int(entry.ordinal) + lag <= ordinal else { return nil }
        return entry
    }

    /// Releases every waiting lookup: the write failed.
    func abandon() {
        condition.lock()
        abandoned = true
        condition.broadcast()
        condition.unlock()
    }
}

/// One thread's way to find a page's bytes among the pages already stored: the index, and a buffer of its own to
/// read the stored page's bytes back from the input and compare them.
// Sound because `scratch` is the thread's own page-sized buffer, allocated and freed by the thread that owns it.
@safe struct DuplicateFinder {
    let index: StoredPageIndex
    let reader: WindowReader
    let scratch: UnsafeMutableRawBufferPointer

    /// The stored page whose bytes equal `page`'s (the frame at `ordinal`), if the index knows one. A page that
    /// cannot be read back is no match (the frame is then stored itself).
    func stored(matching page: UnsafeRawBufferPointer, hash: UInt64, ordinal: Int) -> StoredPageIndex.Entry? {
        guard unsafe scratch.count == page.count, let entry = index.lookup(hash, ordinal: ordinal) else { return nil }
        guard (try? unsafe reader.readFully(into: scratch, atFileOffset: entry.inputOffset)) != nil else { return nil }
        return unsafe sameBytes(UnsafeRawBufferPointer(scratch), page) ? entry : nil
    }
}

/// A 64-bit hash of a page's bytes (four multiply-rotate lanes over its 8-byte words, then mixed): a hint for
/// finding pages with the same bytes, never a proof.
func pageHash(_ page: UnsafeRawBufferPointer) -> UInt64 {
    let multiplier: UInt64 = 0x9fb2_1c65_1e98_df25
    var lanes: (UInt64, UInt64, UInt64, UInt64) = (
        0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89
    )
    func round(_ lane: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = (lane ^ word) &* multiplier
        return (mixed << 29 | mixed >> 35) &+ word
    }
    var offset = 0
    // Sound because each 8-byte load starts at `offset + 24` or below with `offset + 32 <= page.count`.
    while offset + 32 <= page.count {
        unsafe lanes.0 = round(lanes.0, page.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        unsafe lanes.1 = round(lanes.1, page.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        unsafe lanes.2 = round(lanes.2, page.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
        unsafe lanes.3 = round(lanes.3, page.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
        offset += 32
    }
    func fold(_ hash: UInt64, _ lane: UInt64) -> UInt64 {
        let mixed = (hash ^ lane) &* multiplier
        return mixed ^ mixed >> 32
    }
    var hash = fold(fold(fold(fold(UInt64(page.count), lanes.0), lanes.1), lanes.2), lanes.3)
    // Sound because each byte read is below `page.count`.
    while offset < page.count {
        hash = (hash ^ UInt64(unsafe page[offset])) &* multiplier
        offset += 1
    }
    return hash ^ hash >> 29
}

/// Whether two buffers hold the same bytes (compared 8 at a time, then byte by byte).
func sameBytes(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Bool {
    guard first.count == second.count else { return false }
    var offset = 0
    // Sound because each 8-byte load ends at `offset + 8 <= count` in both buffers, each byte read is below count.
    while offset + 8 <= first.count {
        let left = unsafe first.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        let right = unsafe second.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        if left != right { return false }
        offset += 8
    }
    while offset < first.count {
        if unsafe first[offset] != second[offset] { return false }
        offset += 1
    }
    return true
}
