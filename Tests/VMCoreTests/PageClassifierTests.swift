import Foundation  // tests only: replacingOccurrences
import TestSupport
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
        /// Tail pages hold `GENMASK(63, order + log2(SIZE(page))) | 1` (7.1's `compound_info` with hugetlb vmemmap
        /// optimisation built in, as Debian builds it), not the head's address | 1.
        var tailMask = false
        var unaccepted: Int64? = nil
    }

    /// 6.1 (Debian 6.1.0-57-amd64, the struct page entries of its VMCOREINFO as the baseline dump holds them):
    /// `~PG_buddy` with PAGE_TYPE_BASE 0xf0000000, PG_slab a flag, hugetlb by compound_dtor.
    static let linux61 = Generation(
        description: "6.1",
        vmcoreinfo: """
            SIZE(page)=64
            OFFSET(page.flags)=0
            OFFSET(page._refcount)=52
            OFFSET(page.mapping)=24
            OFFSET(page.lru)=8
            OFFSET(page._mapcount)=48
            OFFSET(page.private)=40
            OFFSET(page.compound_dtor)=16
            OFFSET(page.compound_order)=17
            OFFSET(page.compound_head)=8
            LENGTH(zone.free_area)=11
            NUMBER(PG_lru)=4
            NUMBER(PG_private)=13
            NUMBER(PG_swapcache)=10
            NUMBER(PG_swapbacked)=19
            NUMBER(PG_slab)=9
            NUMBER(PG_hwpoison)=23
            NUMBER(PG_head_mask)=65536
            NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129
            NUMBER(HUGETLB_PAGE_DTOR)=2
            NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-257
            """, headMask: 65536, lru: 4, privateBit: 13, buddy: -129, slab: nil, slabFlag: 9, offline: -257,
        hugetlb: nil)

    /// 6.10-6.11 (no Debian kernel; values from the kernel's definitions): `~PG_x` with PAGE_TYPE_BASE 0x80000000;
    /// slab and hugetlb are page types.
    static let linux610 = Generation(
        description: "6.10",
        vmcoreinfo: """
            SIZE(page)=64
            OFFSET(page.flags)=0
            OFFSET(page._mapcount)=48
            OFFSET(page.mapping)=24
            OFFSET(page.private)=40
            OFFSET(page.compound_head)=8
            LENGTH(zone.free_area)=11
            NUMBER(PG_swapcache)=10
            NUMBER(PG_hwpoison)=23
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

    /// 6.12 (Debian 6.12.95+deb12-amd64, as its baseline dump's VMCOREINFO exports them): `PGTY_x << 24`.
    static let linux612 = Generation(
        description: "6.12",
        vmcoreinfo: """
            SIZE(page)=64
            OFFSET(page.flags)=0
            OFFSET(page._refcount)=52
            OFFSET(page.mapping)=24
            OFFSET(page.lru)=8
            OFFSET(page._mapcount)=48
            OFFSET(page.private)=40
            OFFSET(page.compound_head)=8
            LENGTH(zone.free_area)=11
            NUMBER(PG_lru)=5
            NUMBER(PG_private)=14
            NUMBER(PG_swapcache)=10
            NUMBER(PG_swapbacked)=17
            NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)=-184549376
            NUMBER(PG_hwpoison)=20
            NUMBER(PG_head_mask)=64
            NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-268435456
            NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)=-201326592
            NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-251658240
            """, headMask: 64, lru: 5, privateBit: 14, buddy: -268_435_456, slab: -184_549_376, slabFlag: nil,
        offline: -251_658_240, hugetlb: -201_326_592)

    /// 7.3 (Debian 7.3.4+deb13-amd64, from /proc/kcore's VMCOREINFO note; 7.2.13+deb14-amd64 exports the same
    /// struct page entries): `compound_info` instead of `compound_head`, types `PGTY_x << 24` as in 6.12, and
    /// unaccepted memory exported. Built with CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP and a 64-byte struct page, so
    /// tails hold a mask, not a pointer.
    static let linux73 = Generation(
        description: "7.3",
        vmcoreinfo: """
            SIZE(page)=64
            OFFSET(page.flags)=0
            OFFSET(page._refcount)=52
            OFFSET(page.mapping)=24
            OFFSET(page.lru)=8
            OFFSET(page._mapcount)=48
            OFFSET(page.private)=40
            OFFSET(page.compound_info)=8
            LENGTH(zone.free_area)=11
            NUMBER(PG_lru)=5
            NUMBER(PG_private)=14
            NUMBER(PG_swapcache)=10
            NUMBER(PG_swapbacked)=17
            NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)=-184549376
            NUMBER(PG_hwpoison)=21
            NUMBER(PG_head_mask)=64
            NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-268435456
            NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)=-201326592
            NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-251658240
            NUMBER(PAGE_UNACCEPTED_MAPCOUNT_VALUE)=-150994944
            """, headMask: 64, lru: 5, privateBit: 14, buddy: -268_435_456, slab: -184_549_376, slabFlag: nil,
        offline: -251_658_240, hugetlb: -201_326_592, tailMask: true, unaccepted: -150_994_944)

    static let generations = [linux61, linux610, linux612, linux73]

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
        // A tail's compound_head (compound_info): bit 0, and the head's address or the mask for its order.
        func tail(_ pfn: Int, head: UInt64, order: UInt64) {
            put(pfn, 8, (g.tailMask ? ~UInt64(0) << (order + 6) : 0xffff_ea00_0000_0000 | head * 64) | 1)
        }
        for pfn in 9...11 { tail(pfn, head: 8, order: 2) }
        if g.hugetlb == nil {
            put(9, 17, UInt8(2))  // compound_order in the first tail
        } else {
            put(9, 0, UInt64(2))  // order in the low byte of _flags_1
        }
        put(12, 0, g.headMask)
        tail(13, head: 12, order: 1)
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

    /// Classifies `pages(g)` as `change` leaves them, with frame `poisoned` (if any) marked PG_hwpoison.
    func classify(
        _ g: Generation, level: Int, split: Int = 16, poisoned: Int? = nil, change: (inout [UInt8]) -> Void = { _ in }
    )
        throws -> (kept: [UInt64], classifier: PageClassifier)
    {
        let layout = try PageLayout(VMCoreInfo(Array(g.vmcoreinfo.utf8)))
        var classifier = PageClassifier(layout: layout, level: level)
        var bitmap = PageBitmap(count: 16)
        bitmap.insert(0..<16)
        var bytes = Self.pages(g)
        change(&bytes)
        if let poisoned, let bit = layout.hwPoisonBit {
            SyntheticCore.put(&bytes, UInt64(1) << UInt64(bit), at: poisoned * 64)
        }
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
    func poisonedKernelPagesAreLeftOut(_ g: Generation) throws {
        // Frame 14, a kernel page, poisoned: left out (reading it would stop the capture with a machine check).
        let poisoned = try classify(g, level: 31, poisoned: 14)
        #expect(poisoned.kept == [4])
        #expect(poisoned.classifier.count(.hwPoison) == 1)
    }

    @Test(arguments: generations)
    func anOrderNoKernelMakesCoversOnlyItsHead(_ g: Generation) throws {
        // Frame 0 made the head of an anonymous compound page whose first tail says `order` (frame 0 is aligned to
        // any order).
        func headAtZero(order: UInt8) -> (inout [UInt8]) -> Void {
            { bytes in
                SyntheticCore.put(&bytes, UInt64(1) << UInt64(g.lru) | g.headMask, at: 0)
                SyntheticCore.put(&bytes, UInt64(0xffff_8880_0def_0001), at: 24)
                SyntheticCore.put(&bytes, UInt32(0), at: 48)
                SyntheticCore.put(&bytes, UInt64(0xffff_ea00_0000_0001), at: 64 + 8)
                if g.hugetlb == nil {
                    SyntheticCore.put(&bytes, order, at: 64 + 17)
                } else {
                    SyntheticCore.put(&bytes, UInt64(order), at: 64)
                }
            }
        }
        // Order 40: judged alone, not with every frame after it. Frames 2-3 keep their anonymous-looking garbage;
        // frame 1 is a tail, never judged alone.
        let garbage = try classify(g, level: 31, change: headAtZero(order: 40))
        #expect(garbage.kept == [1, 4, 14])
        #expect(garbage.classifier.count(.user) == 2 + 1 + 7)
        // The largest order a kernel makes (18, 1 GiB) is still followed.
        #expect(try classify(g, level: 31, change: headAtZero(order: 18)).kept == [])
    }

    @Test(arguments: generations)
    func aHeadWhoseLastFrameIsNoTailIsJudgedAlone(_ g: Generation) throws {
        // The THP at 8-11 with frame 11 no longer a tail (compound_head 0): not a compound page of 4 frames. Head 8
        // goes alone as a user page, 9 and 10 still say they are tails (kept: never judged alone), 11 is kernel data.
        let stray = try classify(g, level: 31) { bytes in SyntheticCore.put(&bytes, UInt64(0), at: 11 * 64 + 8) }
        #expect(stray.kept == [4, 9, 10, 11, 14])
        #expect(stray.classifier.count(.user) == 1 + 1 + 2)
    }

    @Test(arguments: generations)
    func aFreeBlockNotAlignedToItsSizeIsNoFreeBlock(_ g: Generation) throws {
        // Frame 5 (page cache) typed as a free block of order 1: buddy blocks start on a multiple of their size, so
        // it and frame 6 after it are not left out as free memory (a stray type in a corrupt array).
        let stray = try classify(g, level: 16) { bytes in
            SyntheticCore.put(&bytes, UInt32(truncatingIfNeeded: g.buddy), at: 5 * 64 + 48)
            SyntheticCore.put(&bytes, UInt64(1), at: 5 * 64 + 40)
        }
        #expect(stray.kept == Array(4...14))
        #expect(stray.classifier.invalidFreeBlocks == 1)
        #expect(stray.classifier.count(.free) == 4)
    }

    @Test func compoundInfoIsReadWhereCompoundHeadIsNotExported() throws {
        let layout = try PageLayout(VMCoreInfo(Array(Self.linux73.vmcoreinfo.utf8)))
        #expect(layout.compoundHeadOffset == 8)
        #expect(layout.typeEncoding == .typeByte)
        #expect(layout.unacceptedValue == -150_994_944)
        #expect(layout.hwPoisonBit == 21)
    }

    @Test func withoutEitherTailFieldBothAreNamed() throws {
        let text = Self.linux73.vmcoreinfo.replacingOccurrences(of: "OFFSET(page.compound_info)=8\n", with: "")
        #expect(
            throws: VMCoreInfoError(
                key: "OFFSET(page.compound_head)",
                purpose: "classifying pages from struct page (nor OFFSET(page.compound_info))")
        ) {
            try PageLayout(VMCoreInfo(Array(text.utf8)))
        }
    }

    /// Unaccepted memory (a `PGTY_unaccepted` page heads a block of the largest buddy order) goes with free pages.
    @Test func unacceptedBlocksGoWithFreePages() throws {
        let g = Self.linux73
        let frames = 2048
        var bytes = [UInt8](repeating: 0, count: frames * 64)
        for pfn in 0..<frames { SyntheticCore.put(&bytes, UInt32.max, at: pfn * 64 + 48) }
        SyntheticCore.put(&bytes, UInt32(truncatingIfNeeded: g.unaccepted!), at: 1024 * 64 + 48)
        let layout = try PageLayout(VMCoreInfo(Array(g.vmcoreinfo.utf8)))
        for level in [16, 31, 15] {
            var classifier = PageClassifier(layout: layout, level: level)
            var bitmap = PageBitmap(count: UInt64(frames))
            bitmap.insert(0..<UInt64(frames))
            bytes.withUnsafeBytes { classifier.scan($0, firstPfn: 0, into: &bitmap) }
            let kept = (0..<UInt64(frames)).filter { bitmap.contains($0) }
            #expect(kept == (level & 16 != 0 ? Array(0..<1024) : Array(0..<2048)), "level \(level)")
            #expect(classifier.count(.free) == (level & 16 != 0 ? 1024 : 0))
        }
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
        #expect(
            throws: VMCoreInfoError(
                key: "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", value: "77",
                purpose: "classifying pages from struct page (a page-type encoding no known kernel uses)")
        ) {
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
            #expect(
                bitmap.runCount(in: 0..<300, mergingGapsBelow: gap)
                    == bitmap.runs(in: 0..<300, mergingGapsBelow: gap).count)
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
