import DumpFormat

/// Decides, page by page from the crashed kernel's `struct page` array, which page frames a dump level leaves
/// out, with makedumpfile's meaning of the level bits (zero pages are decided later, from the page contents).
///
/// Free (buddy) blocks are left out `2^order` frames at a time, compound pages (THP, hugetlb) by the head's
/// order; tail pages are never judged alone. Slab pages are always kept. A run that continues past the end of one
/// array is finished by the next `scan`.
///
/// Frames of the kernel image get no exception: its text, data and bss are reserved pages, which no bit leaves out,
/// and what the kernel frees of it after boot (init memory, the gaps between text, rodata and data) is free memory
/// like any other, soon page cache or user pages, and is judged as such, as makedumpfile does.
public struct PageClassifier: Sendable {
    /// Why a page frame was left out.
    public enum Category: Int, CaseIterable, Sendable {
        /// Page cache without private data (level bit 2, or 4).
        case cache
        /// Page cache with private data (level bit 4).
        case privateCache
        /// Anonymous or hugetlb pages of user processes (level bit 8).
        case user
        /// Free pages of the buddy allocator, or unaccepted memory (level bit 16).
        case free
        /// Pages with a hardware memory error (always, when pages are walked).
        case hwPoison
        /// Pages logically offline, e.g. given back by a balloon driver (always, when pages are walked).
        case offline
    }

    /// The `struct page` layout.
    public let layout: PageLayout
    /// The applied dump level.
    public let level: Int
    /// Frames left out so far, per category (only frames that were in the bitmap).
    public private(set) var excluded = [UInt64](repeating: 0, count: Category.allCases.count)
    /// Free blocks whose order was out of range (kept, as makedumpfile does), or whose first frame was not aligned
    /// to their size, which the buddy allocator's blocks always are (kept: a stray page type is not a free block).
    public private(set) var invalidFreeBlocks: UInt64 = 0
    /// The largest compound page order a kernel makes: 18, a 1 GiB hugetlb page in 4 KiB frames on x86-64 (and
    /// arm64's 1 GiB pages in 4 KiB frames, 16 GiB ones in 64 KiB frames). A larger order in a dump is garbage: the
    /// head is judged alone, not with up to 2^63 frames after it (at frame 0 every order is aligned).
    public static let largestCompoundOrder: UInt64 = 18
    private var pendingEnd: UInt64 = 0
    private var pendingCategory = Category.free
    /// The frame number of bit 0 of the bitmaps `scan` is given (a part of a larger bitmap when several
    /// classifiers share the work).
    public var bitmapBase: UInt64 = 0

    public init(layout: PageLayout, level: Int) {
        self.layout = layout
        self.level = level
    }

    /// Frames left out in `category`.
    public func count(_ category: Category) -> UInt64 { excluded[category.rawValue] }

    /// Classifies the `struct page`s of frames `firstPfn ..< firstPfn + pages.count / SIZE(page)`, clearing the
    /// bits of left-out frames in `bitmap`. Arrays must be passed in increasing pfn order.
    public mutating func scan(_ pages: UnsafeRawBufferPointer, firstPfn: UInt64, into bitmap: inout PageBitmap) {
        let size = layout.size
        let count = pages.count / size
        var index = 0
        while index < count {
            let pfn = firstPfn + UInt64(index)
            if pfn < pendingEnd {
                let end = min(pendingEnd, firstPfn + UInt64(count))
                exclude(pfn..<end, pendingCategory, from: &bitmap, base: bitmapBase)
                index += Int(end - pfn)
                continue
            }
            // Sound because `index < count = pages.count / size`, and checkRanges keeps each field inside SIZE(page).
            let base = index * size
            func word(_ offset: Int) -> UInt64 {
                unsafe pages.loadUnaligned(fromByteOffset: base + offset, as: UInt64.self)
            }
            let flags = word(layout.flagsOffset)
            let mapcount = unsafe pages.loadUnaligned(fromByteOffset: base + layout.mapcountOffset, as: UInt32.self)
            let mapping = word(layout.mappingOffset)
            let privateData = word(layout.privateOffset)
            let compoundHead = word(layout.compoundHeadOffset)

            var order: UInt64 = 0
            var hugetlb = false
            if flags & layout.headMask != 0 && index + 1 < count {
                let tail = base + size
                let tailFlags = unsafe pages.loadUnaligned(fromByteOffset: tail + layout.flagsOffset, as: UInt64.self)
                if let value = layout.hugetlbValue {
                    order = tailFlags & 0xff
                    hugetlb = layout.typeEncoding.matches(mapcount, typeValue: value)
                } else if let bit = layout.hugetlbFlagBit {
                    order = tailFlags & 0xff
                    hugetlb = tailFlags & (1 << UInt64(bit)) != 0
                } else {
                    if let offset = layout.compoundOrderOffset { order = unsafe UInt64(pages[tail + offset]) }
                    if let offset = layout.compoundDtorOffset, let dtor = layout.hugetlbDtor {
                        hugetlb = unsafe Int64(pages[tail + offset]) == dtor
                    }
                }
                if order > Self.largestCompoundOrder || pfn & ((1 << order) - 1) != 0 { order = 0 }
                // Every tail of a compound page says it is one (bit 0 of compound_head or compound_info, in every
                // generation): the first, and the last where this array holds it. A head whose tails do not is a
                // stray PG_head in a corrupt array, judged alone.
                if order > 0 {
                    // Sound because both indexes are checked below `count`.
                    func isTail(_ index: Int) -> Bool {
                        unsafe pages.loadUnaligned(
                            fromByteOffset: index * size + layout.compoundHeadOffset, as: UInt64.self) & 1 != 0
                    }
                    let last = index + (1 << Int(order)) - 1
                    if !isTail(index + 1) || (last < count && !isTail(last)) { order = 0 }
                }
            }
            var frames: UInt64 = 1 << order
            let category: Category
            let slab = isSlab(flags: flags, mapcount: mapcount)
            let anonymous = mapping & 1 != 0 && !slab
            if compoundHead & 1 != 0 || slab {
                index += 1  // tail pages go with their head; slab is kernel data
                continue
            } else if level & DumpLevel.freeBit != 0
                && layout.typeEncoding.matches(mapcount, typeValue: layout.buddyValue)
            {
                guard privateData < UInt64(layout.freeAreaLength), pfn & ((1 << privateData) - 1) == 0 else {
                    invalidFreeBlocks += 1
                    index += 1
                    continue
                }
                frames = 1 << privateData
                category = .free
            } else if level & DumpLevel.freeBit != 0, let value = layout.unacceptedValue,
                layout.typeEncoding.matches(mapcount, typeValue: value)
            {
                frames = 1 << UInt64(layout.freeAreaLength - 1)
                guard pfn & (frames - 1) == 0 else {
                    invalidFreeBlocks += 1
                    index += 1
                    continue
                }
                category = .free
            } else if level & DumpLevel.cacheBit != 0 && isCache(flags) && !bit(flags, layout.privateBit) && !anonymous
            {
                category = .cache
            } else if level & DumpLevel.privateCacheBit != 0 && isCache(flags) && !anonymous {
                category = bit(flags, layout.privateBit) ? .privateCache : .cache
            } else if level & DumpLevel.userBit != 0 && (anonymous || hugetlb) {
                category = .user
            } else if let poison = layout.hwPoisonBit, bit(flags, poison) {
                category = .hwPoison
            } else if let value = layout.offlineValue, layout.typeEncoding.matches(mapcount, typeValue: value) {
                category = .offline
            } else {
                index += 1
                continue
            }
            let end = pfn + frames
            let here = min(end, firstPfn + UInt64(count))
            exclude(pfn..<here, category, from: &bitmap, base: bitmapBase)
            if end > here {
                pendingEnd = end
                pendingCategory = category
            }
            index += Int(here - pfn)
        }
    }

    @inline(__always) private func bit(_ flags: UInt64, _ number: Int) -> Bool { flags & (1 << UInt64(number)) != 0 }

    @inline(__always) private func isSlab(flags: UInt64, mapcount: UInt32) -> Bool {
        if let value = layout.slabValue, layout.typeEncoding.matches(mapcount, typeValue: value) { return true }
        if let slab = layout.slabBit { return bit(flags, slab) }
        return false
    }

    /// makedumpfile's page cache test: on the LRU, or in the swap cache (swap-backed).
    @inline(__always) private func isCache(_ flags: UInt64) -> Bool {
        if bit(flags, layout.lruBit) { return true }
        return (layout.swapBackedBit.map { bit(flags, $0) } ?? true) && bit(flags, layout.swapCacheBit)
    }

    /// Leaves out, in `bitmap` (which starts at frame 0), the frames of `range` that the last block this classifier
    /// saw still covers: a compound page running past the end of the frames it was given.
    public mutating func finishBlock(in range: Range<UInt64>, of bitmap: inout PageBitmap) {
        guard pendingEnd > range.lowerBound else { return }
        exclude(range.lowerBound..<min(range.upperBound, pendingEnd), pendingCategory, from: &bitmap, base: 0)
    }

    /// Clears the frames of `range` in `bitmap`, whose bit 0 is frame `base`.
    private mutating func exclude(
        _ range: Range<UInt64>, _ category: Category, from bitmap: inout PageBitmap,
        base: UInt64
    ) {
        for pfn in range where pfn >= base && bitmap.remove(pfn - base) { excluded[category.rawValue] += 1 }
    }
}
