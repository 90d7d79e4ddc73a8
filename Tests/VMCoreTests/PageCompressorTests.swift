import CZstd
import Testing

@testable import VMCore

@Suite struct PageCompressorTests {
    /// A page of kernel-like data: `zeros` of every 16 8-byte words zero (the first ones of each 16, so every word
    /// `isSparse` samples is zero when `zeros` > 0), the others distinct pointer-like values.
    static func page(zeroWordsPer16 zeros: Int, seed: UInt64 = 1) -> [UInt8] {
        var bytes: [UInt8] = []
        var state = seed
        for index in 0..<512 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let word: UInt64 = index % 16 < zeros ? 0 : 0xffff_8880_0000_0000 | (state >> 40) << 3
            withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    static func compress(_ page: [UInt8]) -> [UInt8]? {
        let compressor = PageCompressor(.zstd)
        var output = [UInt8](repeating: 0, count: PageCompressor.bound(pageSize: page.count))
        let size = page.withUnsafeBytes { source in
            output.withUnsafeMutableBytes {
                unsafe compressor.compress(source, into: $0.baseAddress!, capacity: $0.count)
            }
        }
        return size.map { Array(output[..<$0]) }
    }

    static func decompress(_ frame: [UInt8]) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: 4096)
        let size = page.withUnsafeMutableBytes { out in
            frame.withUnsafeBytes { unsafe ZSTD_decompress(out.baseAddress, out.count, $0.baseAddress, $0.count) }
        }
        return ZSTD_isError(size) == 0 && size == 4096 ? page : []
    }

    /// The literals section's type in a one-block zstd frame: 0 stored as they are, 2 Huffman-coded.
    static func literalsType(_ frame: [UInt8]) -> Int? {
        guard frame.count > 8, frame[0..<4] == [0x28, 0xb5, 0x2f, 0xfd] else { return nil }
        let descriptor = frame[4]
        let singleSegment = descriptor >> 5 & 1 == 1
        let contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        let dictionaryBytes = [0, 1, 2, 4][Int(descriptor & 3)]
        let block = 5 + (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes
        guard frame.count > block + 3, frame[block] >> 1 & 3 == 2 else { return nil }  // a compressed block
        return Int(frame[block + 3] & 3)
    }

    /// A page with at least 5/16 of its words zero keeps its literals as they are, a denser one Huffman-codes
    /// them; both come back byte for byte, and the sparse one still compresses.
    @Test func sparsePagesStoreTheirLiteralsRawAndDensePagesCodeThem() throws {
        for zeros in [5, 10] {
            let page = Self.page(zeroWordsPer16: zeros)
            #expect(page.withUnsafeBytes { PageCompressor.isSparse($0) })
            let frame = try #require(Self.compress(page))
            #expect(Self.literalsType(frame) == 0, "\(zeros)/16 zero words")
            #expect(frame.count < page.count * 3 / 4)
            #expect(Self.decompress(frame) == page)
        }
        for zeros in [0, 4] {
            let page = Self.page(zeroWordsPer16: zeros)
            #expect(!page.withUnsafeBytes { PageCompressor.isSparse($0) })
            let frame = try #require(Self.compress(page))
            #expect(Self.literalsType(frame) == 2, "\(zeros)/16 zero words")
            #expect(Self.decompress(frame) == page)
        }
    }

    /// A sparse page of kernel-like structures: 8 of every 16 words zero, the others pointers drawn from 4 (list
    /// heads and back pointers to a few objects), each at its own place in a 16-byte pair.
    static func structurePage(seed: UInt64) -> [UInt8] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
        let pointers = (0..<4).map { _ in 0xffff_8880_0000_0000 | (next() >> 40) << 3 }
        var bytes: [UInt8] = []
        for index in 0..<512 {
            let word: UInt64 = index % 16 < 8 ? 0 : pointers[Int((next() >> 33) % 4)] &+ UInt64(8 * (index % 2))
            withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// The size of `page`'s frame from oopsd's sparse-page context at level 1 instead of 3 (4-byte matches, raw
    /// literals: the sparse pages' settings before they got level 3's match search).
    static func levelOneRawLiterals(_ page: [UInt8]) throws -> Int {
        let context = try #require(PageCompressor.zstdContext(level: 1, literalsRaw: true))
        defer { ZSTD_freeCCtx(context) }
        var output = [UInt8](repeating: 0, count: PageCompressor.bound(pageSize: page.count))
        let size = page.withUnsafeBytes { source in
            output.withUnsafeMutableBytes {
                unsafe ZSTD_compress2(context, $0.baseAddress, $0.count, source.baseAddress, source.count)
            }
        }
        return ZSTD_isError(size) == 0 ? size : page.count
    }

    /// Sparse pages are searched with level 3's double hash (zstd's dfast), which finds more of their repeats than
    /// level 1's single one for about the same time on pages that are mostly zero: on 20 pages of structures the
    /// frames are smaller in all than level 1's, and each comes back byte for byte.
    @Test func sparsePagesAreSearchedHarderThanLevelOne() throws {
        var ours = 0
        var levelOne = 0
        for seed: UInt64 in 1...20 {
            let page = Self.structurePage(seed: seed)
            #expect(page.withUnsafeBytes { PageCompressor.isSparse($0) })
            let frame = try #require(Self.compress(page))
            #expect(Self.decompress(frame) == page)
            ours += frame.count
            levelOne += try Self.levelOneRawLiterals(page)
        }
        #expect(ours < levelOne)
    }

    /// The threshold is counted in words, not bytes: a page whose zero bytes are spread one per word is dense; a
    /// page of zeros is sparse.
    @Test func zeroBytesInsideWordsDoNotMakeAPageSparse() {
        let page = (0..<4096).map { (index: Int) -> UInt8 in index % 8 == 0 ? 0 : UInt8(0x41 + index % 23) }
        #expect(!page.withUnsafeBytes { PageCompressor.isSparse($0) })
        let zeroPage = [UInt8](repeating: 0, count: 4096)
        #expect(zeroPage.withUnsafeBytes { PageCompressor.isSparse($0) })
    }

    /// One word in 32 is sampled first: a page with fewer than 3 zero samples is dense however many zero words it
    /// has, and with 3 the words are counted.
    @Test func aPageWhoseSampledWordsAreNotZeroIsDense() {
        var page = Self.page(zeroWordsPer16: 0)
        for word in 0..<512 where word % 32 != 0 && word % 2 == 1 {
            page.replaceSubrange((word * 8)..<(word * 8 + 8), with: repeatElement(0, count: 8))
        }
        #expect(!page.withUnsafeBytes { PageCompressor.isSparse($0) })  // 256 zero words, none sampled
        for sampled in [0, 32, 64] {
            page.replaceSubrange((sampled * 8)..<(sampled * 8 + 8), with: repeatElement(0, count: 8))
        }
        #expect(page.withUnsafeBytes { PageCompressor.isSparse($0) })  // 259 zero words, 3 sampled
    }

    /// `count` bytes that look random (SplitMix64), as compressed or encrypted data does.
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9e37_79b9_7f4a_7c15
            var mixed = (state ^ state >> 30) &* 0xbf58_476d_1ce4_e5b9
            mixed = (mixed ^ mixed >> 27) &* 0x94d0_49bb_1331_11eb
            return UInt8(truncatingIfNeeded: (mixed ^ mixed >> 31) >> 56)
        }
    }

    /// A page of random bytes is stored raw without compressing it; pages that compress are not taken for one:
    /// kernel data, a random half page written twice (zstd halves it), and an array of 64-byte records each with
    /// a random 8-byte key at its start (which a sample of every line's first 8 bytes would take for random data).
    @Test func onlyPagesAsVariedAsRandomBytesLookIncompressible() throws {
        for seed: UInt64 in 1...8 {
            let random = Self.randomBytes(4096, seed: seed)
            #expect(random.withUnsafeBytes { PageCompressor.looksIncompressible($0) }, "seed \(seed)")
            #expect(Self.compress(random) == nil)
        }
        let kernelData = Self.page(zeroWordsPer16: 0)
        let halfTwice = Array(repeating: Self.randomBytes(2048, seed: 9), count: 2).flatMap { $0 }
        let filler = Array(String(repeating: "oopsd record filler ", count: 3).utf8)
        let records = (0..<64).flatMap { record in Self.randomBytes(8, seed: UInt64(100 + record)) + filler[..<56] }
        for (name, page) in [("kernel data", kernelData), ("a half page twice", halfTwice), ("records", records)] {
            #expect(page.count == 4096)
            #expect(!page.withUnsafeBytes { PageCompressor.looksIncompressible($0) }, "\(name)")
            let compressed = Self.compress(page)
            let frame = try #require(compressed, "\(name) was stored raw")
            #expect(frame.count < 3 * 1024, "\(name)")
            #expect(Self.decompress(frame) == page, "\(name)")
        }
    }
}
