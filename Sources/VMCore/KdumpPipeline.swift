import Synchronization
import SystemCalls

/// The kdump writer's page compression on several threads without a pause between batches: batches of kept frames
/// are planned in frame order into a few slots, each with its own input window; every thread takes pages 32 at a
/// time from the oldest batch that has pages left, plans and loads the next batch when none has, and the thread that
/// finishes a batch stores every finished batch that comes next in frame order. So a thread that runs out of pages
/// moves on to the next batch while another finishes the last pages of the previous one, and the file is written
/// in the same order, with the same bytes, as one thread would write it.
///
/// A frame with the bytes of a page stored at least the index's lag earlier points at it (`StoredPageIndex`); the
/// plan's batches are never longer than that lag, so a thread that waits for those pages to be stored never waits
/// for a batch that needs it.
///
/// Memory: `slots` batches' output buffers and input windows, whatever the size of the dumped machine.
// Sound because every stored property but the constants is read and written with `condition`'s lock held, except a
// slot's batch and window, which only the thread that planned the slot touches until it is `.compressing`, then only
// compressing threads (disjoint pages) until the last of them marks it `.compressed` under the lock, then only the
// storing thread.
final class KdumpPipeline: @unchecked Sendable {
    /// Where a slot is in its round.
    enum State {
        case free, loading, compressing, compressed, storing
    }

    /// One batch in flight.
    final class Slot: @unchecked Sendable {
        let batch: KdumpBatch
        let window = InputWindow()
        var state = State.free
        /// The batch's place in frame order.
        var sequence = 0
        /// The next page to hand out, and the pages compressed (a batch is finished when all are).
        let claimed = Atomic<Int>(0)
        let completed = Atomic<Int>(0)

        init(_ batch: KdumpBatch) { self.batch = batch }
    }

    private let condition = ThreadCondition()
    private let slots: [Slot]
    private var plan: KdumpBatchPlan
    private let reader: WindowReader
    private let store: KdumpPageStore
    private let compressors: [PageCompressor]
    private let flag: UInt32
    private let excludeZeroPages: Bool
    private let pageSize: Int
    private let index: StoredPageIndex
    private var planned = false
    private var nextSequence = 0
    private var nextOrdinal = 0
    private var nextToStore = 0
    private var storing = false
    private var failure: (any Error)?

    init(
        plan: KdumpBatchPlan, slots: Int, bound: Int, reader: WindowReader, store: KdumpPageStore,
        compressors: [PageCompressor], flag: UInt32, excludeZeroPages: Bool, index: StoredPageIndex
    ) {
        self.plan = plan
        self.slots = (0..<slots).map { _ in Slot(KdumpBatch(capacity: plan.batchPages, bound: bound)) }
        self.reader = reader
        self.store = store
        self.compressors = compressors
        self.flag = flag
        self.excludeZeroPages = excludeZeroPages
        pageSize = plan.pageSize
        self.index = index
    }

    /// Compresses and stores every batch of the plan on one thread per compressor; rethrows the first failure.
    func run() throws {
        ParallelWorkers.run(count: compressors.count) { worker in
            // Sound because the scratch page is this thread's own, freed after its last use in `work`.
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: self.pageSize, alignment: 64)
            defer { unsafe scratch.deallocate() }
            let finder = unsafe DuplicateFinder(index: self.index, reader: self.reader, scratch: scratch)
            self.work(with: self.compressors[worker], finder: finder)
        }
        for slot in slots { slot.window.release() }
        if let failure { throw failure }
    }

    /// One thread's loop: compress, else plan and load, else wait, until every batch is stored or something failed.
    private func work(with compressor: PageCompressor, finder: DuplicateFinder) {
        condition.lock()
        while failure == nil {
            let open = slots.filter {
                $0.state == .compressing && $0.claimed.load(ordering: .relaxed) < $0.batch.frames.count
            }
            if let slot = open.min(by: { $0.sequence < $1.sequence }) {
                // Claimed under the lock, so the slot cannot be finished and planned again in between.
                let first = slot.claimed.wrappingAdd(32, ordering: .relaxed).oldValue
                let count = slot.batch.frames.count
                condition.unlock()
                if first < count { compress(slot, from: first, of: count, with: compressor, finder: finder) }
                condition.lock()
                continue
            }
            if !planned, let slot = slots.first(where: { $0.state == .free }) {
                guard let range = plan.next(into: &slot.batch.frames) else {
                    planned = true
                    condition.broadcast()
                    continue
                }
                slot.state = .loading
                slot.sequence = nextSequence
                nextSequence += 1
                slot.batch.fileOffset = range.fileOffset
                slot.batch.firstOrdinal = nextOrdinal
                nextOrdinal += slot.batch.frames.count
                condition.unlock()
                var loadFailure: (any Error)?
                do {
                    try slot.window.load(reader, atFileOffset: range.fileOffset, count: range.count)
                } catch {
                    loadFailure = error
                }
                condition.lock()
                slot.claimed.store(0, ordering: .relaxed)
                slot.completed.store(0, ordering: .relaxed)
                slot.state = .compressing
                if let loadFailure {
                    fail(loadFailure)
                    slot.state = .free
                }
                condition.broadcast()
                continue
            }
            if planned && slots.allSatisfy({ $0.state == .free }) { break }
            condition.wait()
        }
        condition.unlock()
    }

    /// Compresses the 32 pages of `slot` (of `count`) from `first` on, then more 32 at a time while it has some to hand out; the
    /// thread that compresses its last page finishes it. A thread claims its next pages before it counts the ones
    /// it compressed, so the slot cannot be finished and planned again while the thread still uses it.
    private func compress(
        _ slot: Slot, from first: Int, of count: Int, with compressor: PageCompressor, finder: DuplicateFinder
    ) {
        let batch = slot.batch
        let size = pageSize
        // Sound because the window stays loaded until the slot is finished, which happens after this thread counted
        // its last pages of it, and every frame's page lies inside the window (planned so).
        let window = unsafe slot.window.bytes
        var first = first
        while first < count {
            let end = min(first + 32, count)
            for index in first..<end {
                let start = batch.frames[index] * size
                let source = unsafe UnsafeRawBufferPointer(rebasing: window[start..<(start + size)])
                unsafe batch.compress(
                    source, slot: index, with: compressor, flag: flag, excludeZeroPages: excludeZeroPages,
                    finder: finder)
            }
            let next = slot.claimed.wrappingAdd(32, ordering: .relaxed).oldValue
            if slot.completed.wrappingAdd(end - first, ordering: .acquiringAndReleasing).newValue == count {
                finish(slot)
                return
            }
            first = next
        }
    }

    /// Marks `slot` compressed and stores what is next in frame order, unless another thread is storing (it then
    /// stores this one too).
    private func finish(_ slot: Slot) {
        slot.window.release()
        condition.lock()
        slot.state = .compressed
        condition.broadcast()
        if !storing {
            storing = true
            while failure == nil,
                let next = slots.first(where: { $0.state == .compressed && $0.sequence == nextToStore })
            {
                next.state = .storing
                condition.unlock()
                var storeFailure: (any Error)?
                do { try store.store(next.batch) } catch { storeFailure = error }
                condition.lock()
                if let storeFailure { fail(storeFailure) }
                next.state = .free
                nextToStore += 1
                condition.broadcast()
            }
            storing = false
        }
        condition.unlock()
    }

    /// With the lock held: keeps the first failure and releases threads waiting for stored pages.
    private func fail(_ error: any Error) {
        if failure == nil { failure = error }
        index.abandon()
    }
}

/// The batches of a kdump write in frame order: up to `batchPages` kept frames of one extent within a window of
/// `2 * batchPages` frames.
struct KdumpBatchPlan {
    let kept: PageBitmap
    let extents: [KdumpWriter.Extent]
    let batchPages: Int
    let pageSize: Int
    private var extentIndex = 0
    private var batchStart: UInt64?

    init(kept: PageBitmap, extents: [KdumpWriter.Extent], batchPages: Int, pageSize: Int) {
        self.kept = kept
        self.extents = extents
        self.batchPages = batchPages
        self.pageSize = pageSize
    }

    /// The frames per window.
    var windowPages: Int { 2 * batchPages }

    /// Puts the next batch's frames (page indices in its window) into `frames`; returns the window's file offset and
    /// length (up to the batch's last frame), or nil when every batch was planned.
    mutating func next(into frames: inout [Int]) -> (fileOffset: UInt64, count: Int)? {
        let page = UInt64(pageSize)
        while extentIndex < extents.count {
            let extent = extents[extentIndex]
            let start = batchStart ?? kept.next(true, from: extent.pfns.lowerBound, below: extent.pfns.upperBound)
            guard start < extent.pfns.upperBound else {
                extentIndex += 1
                batchStart = nil
                continue
            }
            frames.removeAll(keepingCapacity: true)
            let windowEnd = min(extent.pfns.upperBound, start + UInt64(windowPages))
            var pfn = start
            while pfn < windowEnd && frames.count < batchPages {
                frames.append(Int(pfn - start))
                pfn = kept.next(true, from: pfn + 1, below: windowEnd)
            }
            batchStart = kept.next(true, from: pfn, below: extent.pfns.upperBound)
            return (extent.fileOffset + (start - extent.pfns.lowerBound) * page, (frames.last! + 1) * pageSize)
        }
        return nil
    }
}
