import Foundation  // tests only: replacingOccurrences
import Testing
import VMCore

/// Synthetic `struct page` arrays, laid out the way each kernel generation marks page types, classified at every
/// level bit. Frames (64-byte struct pages, pfn 0 first):
///   0-3 a free buddy block of order 2 (frames 1-3 hold garbage that looks anonymous: skipped with the block),
///   4 a slab page whose mapping has bit 0 set (kernel data: always kept),
///   5 page cache, 6 page cache with private data, 7 anonymous, 8-11 an anonymous THP (order 2),
///   12-13 a hugetlb page (order 1), 14 a kernel page, 15 a logically offline page.
@Suite struct PageClassifierTests {
    /// A kernel generation's VMCOREINFO entries for struct page, and how it marks types.
    struct Generation: CustomStringConvertible, Sendable {
        var description: String
        var vmcoreinfo: String
        var headMask: UInt64
        var lru: Int, privateBit: Int
        var buddy: Int64, slab: Int64?, slabFlag: Int?, offline: Int64, hugetlb: Int64?
    }

    static let common = """
        SIZE(page)=64
        OFFSET(page.flags)=0
        OFFSET(page._mapcount)=48
        OFFSET(page.mapping)=24
        OFFSET(page.private)=40
        OFFSET(page.compound_head)=8
        LENGTH(zone.free_area)=11
        NUMBER(PG_swapcache)=10
        NUMBER(PG_hwpoison)=23

        """

    /// 6.1: `-128`-style values (`~PG_buddy` with PAGE_TYPE_BASE 0xf0000000), PG_slab a flag, hugetlb by dtor.
    static let linux61 = Generation(description: "6.1", vmcoreinfo: common + """
        OFFSET(page.compound_dtor)=16
        OFFSET(page.compound_order)=17
        NUMBER(PG_lru)=4
        NUMBER(PG_private)=13
        NUMBER(PG_swapbacked)=19
        NUMBER(PG_slab)=9
        NUMBER(PG_head_mask)=65536
        NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129
        NUMBER(HUGETLB_PAGE_DTOR)=2
        NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-257
        """, headMask: 65536, lru: 4, privateBit: 13, buddy: -129, slab: nil, slabFlag: 9, offline: -257, hugetlb: nil)

    /// 6.10-6.11: `~PG_x` with PAGE_TYPE_BASE 0x80000000; slab and hugetlb are page types.
    static let linux610 = Generation(description: "6.10", vmcoreinfo: common + """
        NUMBER(PG_lru)=5
        NUMBER(PG_private)=14
        NUMBER(PG_swapbacked)=17
        NUMBER(PG_head_mask)=64
        NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-1073741825
        NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)=-33554433
        NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)=-67108865
        NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-536870913
        """, headMask: 64, lru: 5, privateBit: 14, buddy: -1_073_741_825, slab: -33_554_433, slabFlag: nil,
        offline: -536_870_913, hugetlb: -67_108_865)

    /// 6.12 and later: `PGTY_x << 24` (values as the 6.12 baseline dump's VMCOREINFO exports them).
    static let linux612 = Generation(description: "6.12", vmcoreinfo: common + """
        NUMBER(PG_lru)=5
        NUMBER(PG_private)=14
        NUMBER(PG_swapbacked)=17
        NUMBER(PG_head_mask)=64
        NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)=-184549376
        NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-268435456
        NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)=-201326592
        NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-251658240
        """, headMask: 64, lru: 5, privateBit: 14, buddy: -268_435_456, slab: -184_549_376, slabFlag: nil,
        offline: -251_658_240, hugetlb: -201_326_592)

    static let generations = [linux61, linux610, linux612]

    /// The 16 struct pages described above, for `generation`.
    static func pages(_ g: Generation) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16 * 64)
        func put<T: FixedWidthInteger>(_ pfn: Int, _ offset: Int, _ value: T) {
            SyntheticCore.put(&bytes, value, at: pfn * 64 + offset)
        }
        func mapcount(_ pfn: Int, _ value: Int64) { put(pfn, 48, UInt32(truncatingIfNeeded: value)) }
        for pfn in 0..<16 { mapcount(pfn, -1) }  // untyped, unmapped
        mapcount(0, g.buddy)
        put(0, 40, UInt64(2))  // order 2
        for pfn in 1...3 { put(pfn, 24, UInt64(0xffff_8880_1234_5001)) }  // looks anonymous: must not matter
        if let slab = g.slab { mapcount(4, slab) } else { put(4, 0, UInt64(1) << UInt64(g.slabFlag!)) }
        put(4, 24, UInt64(0xffff_8880_0000_0041))  // slab_cache pointer overlaying mapping, bit 0 set
        put(5, 0, UInt64(1) << UInt64(g.lru))
        put(5, 24, UInt64(0xffff_8880_0abc_0000))  // file mapping
        put(6, 0, UInt64(1) << UInt64(g.lru) | UInt64(1) << UInt64(g.privateBit))
        put(6, 24, UInt64(0xffff_8880_0abc_0000))
        put(7, 24, UInt64(0xffff_8880_0def_0001))  // anon_vma | PAGE_MAPPING_ANON
        put(7, 48, UInt32(0))  // mapped once
        put(8, 0, UInt64(1) << UInt64(g.lru) | g.headMask)
        put(8, 24, UInt64(0xffff_8880_0def_0001))
        for pfn in 9...11 { put(pfn, 8, UInt64(0xffff_ea00_0000_0200) | 1) }  // compound_head | 1
        if g.hugetlb == nil {
            put(9, 17, UInt8(2))  // compound_order in the first tail
        } else {
            put(9, 0, UInt64(2))  // order in the low byte of _flags_1
        }
        put(12, 0, g.headMask)
        put(13, 8, UInt64(0xffff_ea00_0000_0300) | 1)
        if let hugetlb = g.hugetlb {
            mapcount(12, hugetlb)
            put(13, 0, UInt64(1))
        } else {
            put(13, 16, UInt8(2))  // HUGETLB_PAGE_DTOR
            put(13, 17, UInt8(1))
        }
        mapcount(15, g.offline)
        return bytes
    }

    func classify(_ g: Generation, level: Int, protected: [Range<UInt64>] = [], split: Int = 16)
        throws -> (kept: [UInt64], classifier: PageClassifier)
    {
        let layout = try PageLayout(VMCoreInfo(Array(g.vmcoreinfo.utf8)))
        var classifier = PageClassifier(layout: layout, level: level, protected: protected)
        var bitmap = PageBitmap(count: 16)
        bitmap.insert(0..<16)
        let bytes = Self.pages(g)
        bytes[0..<(split * 64)].withUnsafeBytes { classifier.scan($0, firstPfn: 0, into: &bitmap) }
        bytes[(split * 64)...].withUnsafeBytes { classifier.scan($0, firstPfn: UInt64(split), into: &bitmap) }
        return ((0..<16).filter { bitmap.contains($0) }, classifier)
    }

    @Test(arguments: generations)
    func level31KeepsOnlyKernelPages(_ g: Generation) throws {
        let (kept, classifier) = try classify(g, level: 31)
        #expect(kept == [4, 14])
        #expect(classifier.count(.free) == 4)
        #expect(classifier.count(.cache) == 1)
        #expect(classifier.count(.privateCache) == 1)
        #expect(classifier.count(.user) == 7)
        #expect(classifier.count(.offline) == 1)
    }

    @Test(arguments: generations)
    func eachBitLeavesOutItsOwnPages(_ g: Generation) throws {
        // Offline pages (15) go whenever pages are walked, as with makedumpfile.
        #expect(try classify(g, level: 16).kept == Array(4...14))
        #expect(try classify(g, level: 2).kept == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14])
        #expect(try classify(g, level: 4).kept == [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14])
        // Without bit 16 the free block's other frames are judged alone; their garbage looks anonymous.
        #expect(try classify(g, level: 8).kept == [0, 4, 5, 6, 14])
        #expect(try classify(g, level: 1).kept == Array(0...14))
    }

    @Test(arguments: generations)
    func blocksCrossingArraysAreFinishedByTheNextScan(_ g: Generation) throws {
        #expect(try classify(g, level: 31, split: 2).kept == [4, 14])
        #expect(try classify(g, level: 31, split: 10).kept == [4, 14])
    }

    @Test(arguments: generations)
    func protectedFramesAreNeverLeftOut(_ g: Generation) throws {
        let (kept, classifier) = try classify(g, level: 31, protected: [1..<3, 7..<8])
        #expect(kept == [1, 2, 4, 7, 14])
        #expect(classifier.count(.free) == 2)
    }

    @Test func encodingsAreRecognisedFromTheBuddyValue() {
        #expect(PageTypeEncoding(buddyValue: -129) == .clearedBit(base: 0xf000_0000))
        #expect(PageTypeEncoding(buddyValue: -1_073_741_825) == .clearedBit(base: 0x8000_0000))
        #expect(PageTypeEncoding(buddyValue: -268_435_456) == .typeByte)
        #expect(PageTypeEncoding(buddyValue: 12345) == nil)
        #expect(PageTypeEncoding(buddyValue: -1) == nil)
    }

    @Test func anUnknownEncodingIsRefusedNamingTheEntry() throws {
        let text = Self.linux612.vmcoreinfo.replacingOccurrences(of: "=-268435456", with: "=77")
        #expect(throws: VMCoreInfoError(key: "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", value: "77",
            purpose: "classifying pages from struct page (a page-type encoding no known kernel uses)"))
        {
            try PageLayout(VMCoreInfo(Array(text.utf8)))
        }
    }

    @Test func aMissingEntryIsNamed() throws {
        let text = Self.linux61.vmcoreinfo.replacingOccurrences(of: "NUMBER(PG_lru)=4\n", with: "")
        #expect(throws: VMCoreInfoError(key: "NUMBER(PG_lru)", purpose: "classifying pages from struct page")) {
            try PageLayout(VMCoreInfo(Array(text.utf8)))
        }
    }

    @Test func bitmapPartsRunsAndSearchesAgreeWithTheBits() {
        var bitmap = PageBitmap(count: 300)
        for pfn: UInt64 in [3, 4, 5, 64, 65, 130, 131, 132, 133, 250, 299] { bitmap.insert(pfn) }
        #expect(bitmap.next(true, from: 6, below: 300) == 64)
        #expect(bitmap.next(false, from: 64, below: 300) == 66)
        #expect(bitmap.next(true, from: 251, below: 299) == 299)
        #expect(bitmap.runs(in: 0..<300) == [3..<6, 64..<66, 130..<134, 250..<251, 299..<300])
        #expect(bitmap.runs(in: 4..<131) == [4..<6, 64..<66, 130..<131])
        // Gaps: 58, 64, 116, 48 frames.
        #expect(bitmap.runs(in: 0..<300, mergingGapsBelow: 60) == [3..<66, 130..<134, 250..<300])
        #expect(bitmap.runs(in: 0..<300, mergingGapsBelow: 65) == [3..<134, 250..<300])
        for gap: UInt64 in [1, 48, 49, 59, 60, 64, 65, 117, 200] {
            #expect(bitmap.runCount(in: 0..<300, mergingGapsBelow: gap) == bitmap.runs(in: 0..<300, mergingGapsBelow: gap).count)
        }
        #expect(bitmap.runCount(in: 0..<300, limit: 1) == 2)  // stops counting past the limit
        var part = bitmap.part(128..<300)
        #expect(part.count == 172 && part.contains(2) && part.contains(171) && !part.contains(1))
        part.remove(2)
        part.insert(0)
        var copy = bitmap
        copy.replace(with: part, at: 128)
        #expect(copy.contains(128) && !copy.contains(130) && copy.contains(299) && copy.contains(64))
        #expect(copy.population == bitmap.population)
    }
}
