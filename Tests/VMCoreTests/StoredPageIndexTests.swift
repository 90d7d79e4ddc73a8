import Synchronization
import SystemCalls
import TestSupport
import Testing

@testable import VMCore

@Suite struct StoredPageIndexTests {
    static func entry(hash: UInt64, ordinal: UInt32, inputOffset: UInt64 = 0) -> StoredPageIndex.Entry {
        .init(
            hash: hash, inputOffset: inputOffset, outputOffset: UInt64(ordinal) * 100, ordinal: ordinal, size: 100,
            flags: 0)
    }

    static func hash(_ page: [UInt8]) -> UInt64 { page.withUnsafeBytes { pageHash($0) } }

    /// A frame sees a stored page only `lag` kept frames after it, the first page stored with a hash is the one
    /// kept, and a full index takes no more.
    @Test func aFrameSeesTheFirstPageStoredAtLeastTheLagBeforeIt() {
        let index = StoredPageIndex(capacity: 2, lag: 4)
        index.record([Self.entry(hash: 7, ordinal: 0), Self.entry(hash: 7, ordinal: 1)], storedFrames: 2)
        #expect(index.lookup(7, ordinal: 3) == nil)  // 3 frames after: too close
        #expect(index.lookup(7, ordinal: 4)?.ordinal == 0)
        #expect(index.lookup(8, ordinal: 5) == nil)
        index.record([Self.entry(hash: 9, ordinal: 2), Self.entry(hash: 10, ordinal: 3)], storedFrames: 6)
        #expect(index.lookup(9, ordinal: 6)?.ordinal == 2)
        #expect(index.lookup(10, ordinal: 9) == nil)  // the index was full
    }

    /// A lookup for a frame whose lag reaches past what is stored waits for it; an abandoned write releases it.
    @Test func aLookupWaitsForThePagesItMaySeeAndStopsWhenTheWriteIsAbandoned() {
        let index = StoredPageIndex(capacity: 4, lag: 2)
        let found = Atomic<Int>(-1)
        ParallelWorkers.run(count: 2) { worker in
            if worker == 0 {
                found.store(Int(index.lookup(5, ordinal: 3)?.ordinal ?? 99), ordering: .relaxed)
            } else {
                index.record([Self.entry(hash: 5, ordinal: 1)], storedFrames: 2)  // frame 3 needs frame 1 stored
            }
        }
        #expect(found.load(ordering: .relaxed) == 1)
        index.abandon()
        #expect(index.lookup(5, ordinal: 100) == nil)
    }

    /// The hash only points at a candidate: the finder reads the stored page's bytes back from the input and
    /// answers only when they are the frame's own.
    @Test func theFinderComparesTheBytesAHashPointsAt() throws {
        let scratch = try TemporaryDirectory("index")
        var synthetic = KdumpWriterTests.core().0
        let pages = (0..<2).map { seed in (0..<4096).map { UInt8(truncatingIfNeeded: $0 * (seed + 1)) } }
        synthetic.segments[0].data = pages.flatMap { $0 }
        let core = try ELFCore.open(try scratch.write("input", synthetic.bytes()))
        defer { try? core.close() }
        let start = core.loadSegments.map(\.header).first { $0.fileSize == 2 * 4096 }!.offset
        let index = StoredPageIndex(capacity: 4, lag: 1)
        let claimed = Self.hash(pages[0])
        // Both entries claim the first page's hash; only the first points at its bytes.
        index.record([Self.entry(hash: claimed, ordinal: 0, inputOffset: start)], storedFrames: 1)
        let other = StoredPageIndex(capacity: 4, lag: 1)
        other.record([Self.entry(hash: claimed, ordinal: 0, inputOffset: start + 4096)], storedFrames: 1)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)
        defer { unsafe buffer.deallocate() }
        let reader = WindowReader(core: core, windowSize: 8192, readBufferSize: 8192)
        pages[0].withUnsafeBytes { page in
            let right = unsafe DuplicateFinder(index: index, reader: reader, scratch: buffer)
            #expect(right.stored(matching: page, hash: claimed, ordinal: 1)?.inputOffset == start)
            let wrong = unsafe DuplicateFinder(index: other, reader: reader, scratch: buffer)
            #expect(wrong.stored(matching: page, hash: claimed, ordinal: 1) == nil)
        }
    }

    /// Equal bytes hash equally; a single changed byte anywhere (tail included) changes the hash.
    @Test func theHashFollowsEveryByte() {
        let page = (0..<4096).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let hash = Self.hash(page)
        #expect(Self.hash(Array(page)) == hash)
        for position in [0, 7, 8, 31, 32, 2049, 4095] {
            var changed = page
            changed[position] ^= 0x40
            #expect(Self.hash(changed) != hash, "byte \(position)")
        }
    }

    /// The byte comparison sees a difference in the last byte, past the last whole 8-byte word, and in the length.
    @Test func bytesCompareToTheLastOne() {
        let bytes = (0..<4095).map { UInt8(truncatingIfNeeded: $0) }
        var last = bytes
        last[4094] ^= 1
        bytes.withUnsafeBytes { base in
            #expect(Array(bytes).withUnsafeBytes { sameBytes(base, $0) })
            #expect(!last.withUnsafeBytes { sameBytes(base, $0) })
            #expect(!bytes.dropLast().withUnsafeBytes { sameBytes(base, $0) })
        }
    }
}
