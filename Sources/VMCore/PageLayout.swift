/// Where the fields of the crashed kernel's `struct page` are and what its flag bits mean, from VMCOREINFO.
///
/// Only what page selection reads: `flags`, `_mapcount` (page type), `mapping`, `private`, `compound_head` (named
/// `compound_info` from 7.1), the compound order and hugetlb marks of the first tail page, and the `PG_*` bit numbers.
public struct PageLayout: Equatable, Sendable {
    /// `SIZE(page)`.
    public var size: Int
    /// `OFFSET(page.flags)`.
    public var flagsOffset: Int
    /// `OFFSET(page._mapcount)` (also `page_type`).
    public var mapcountOffset: Int
    /// `OFFSET(page.mapping)`.
    public var mappingOffset: Int
    /// `OFFSET(page.private)`.
    public var privateOffset: Int
    /// `OFFSET(page.compound_head)`, or `OFFSET(page.compound_info)` where the kernel exports that name instead
    /// (7.1 and later): bit 0 is set on tail pages, whatever the other bits hold (the head's address, or, in
    /// 7.1's `compound_info` with hugetlb vmemmap optimisation, a mask that turns the tail's address into the head's).
    public var compoundHeadOffset: Int
    /// `NUMBER(PG_lru)`, `PG_private`, `PG_swapcache`, `PG_swapbacked` (nil before 4.10), `PG_hwpoison` (optional).
    public var lruBit: Int, privateBit: Int, swapCacheBit: Int, swapBackedBit: Int?, hwPoisonBit: Int?
    /// `NUMBER(PG_head_mask)`.
    public var headMask: UInt64
    /// `NUMBER(PG_slab)`: slab as a page flag (before 6.10).
    public var slabBit: Int?
    /// How page types are encoded, and the exported values of the types used.
    public var typeEncoding: PageTypeEncoding
    /// `NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)`.
    public var buddyValue: Int64
    /// `NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)` (6.10 and later).
    public var slabValue: Int64?
    /// `NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)`.
    public var offlineValue: Int64?
    /// `NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)` (6.9 and later; the order is then in the tail's flags).
    public var hugetlbValue: Int64?
    /// `NUMBER(PAGE_UNACCEPTED_MAPCOUNT_VALUE)` (6.5 and later, when built with unaccepted memory).
    public var unacceptedValue: Int64?
    /// `NUMBER(PG_hugetlb)` (6.6–6.8: hugetlb as a flag of the first tail page, order in its low byte).
    public var hugetlbFlagBit: Int?
    /// `OFFSET(page.compound_order)` and `OFFSET(page.compound_dtor)` of the first tail page (before 6.6).
    public var compoundOrderOffset: Int?, compoundDtorOffset: Int?
    /// `NUMBER(HUGETLB_PAGE_DTOR)` (before 6.6).
    public var hugetlbDtor: Int64?
    /// `LENGTH(zone.free_area)`: one more than the largest buddy order.
    public var freeAreaLength: Int

    /// Reads the layout from `info`; throws naming the first missing entry.
    public init(_ info: VMCoreInfo) throws(VMCoreInfoError) {
        let purpose = "classifying pages from struct page"
        func number(_ name: String) throws(VMCoreInfoError) -> Int64 {
            guard let value = info.number(name) else {
                throw VMCoreInfoError(key: "NUMBER(\(name))", value: info["NUMBER(\(name))"], purpose: purpose)
            }
            return value
        }
        size = try info.requireSize("page", for: purpose)
        flagsOffset = try info.requireOffset("page.flags", for: purpose)
        mapcountOffset = try info.requireOffset("page._mapcount", for: purpose)
        mappingOffset = try info.requireOffset("page.mapping", for: purpose)
        privateOffset = try info.requireOffset("page.private", for: purpose)
        switch (info["OFFSET(page.compound_head)"], info["OFFSET(page.compound_info)"]) {
        case (nil, nil):
            throw VMCoreInfoError(
                key: "OFFSET(page.compound_head)", purpose: purpose + " (nor OFFSET(page.compound_info))")
        case (nil, _):
            compoundHeadOffset = try info.requireOffset("page.compound_info", for: purpose)
        default:
            compoundHeadOffset = try info.requireOffset("page.compound_head", for: purpose)
        }
        lruBit = Int(try number("PG_lru"))
        privateBit = Int(try number("PG_private"))
        swapCacheBit = Int(try number("PG_swapcache"))
        swapBackedBit = info.number("PG_swapbacked").map { Int($0) }
        hwPoisonBit = info.number("PG_hwpoison").map { Int($0) }
        headMask = UInt64(bitPattern: try number("PG_head_mask"))
        slabBit = info.number("PG_slab").map { Int($0) }
        buddyValue = try number("PAGE_BUDDY_MAPCOUNT_VALUE")
        guard let encoding = PageTypeEncoding(buddyValue: buddyValue) else {
            throw VMCoreInfoError(
                key: "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", value: "\(buddyValue)",
                purpose: purpose + " (a page-type encoding no known kernel uses)")
        }
        typeEncoding = encoding
        slabValue = info.number("PAGE_SLAB_MAPCOUNT_VALUE")
        offlineValue = info.number("PAGE_OFFLINE_MAPCOUNT_VALUE")
        hugetlbValue = info.number("PAGE_HUGETLB_MAPCOUNT_VALUE")
        unacceptedValue = info.number("PAGE_UNACCEPTED_MAPCOUNT_VALUE")
        hugetlbFlagBit = info.number("PG_hugetlb").map { Int($0) }
        compoundOrderOffset = info.offset("page.compound_order")
        compoundDtorOffset = info.offset("page.compound_dtor")
        hugetlbDtor = info.number("HUGETLB_PAGE_DTOR")
        freeAreaLength = info.length("zone.free_area") ?? 11
        guard slabBit != nil || slabValue != nil else {
            throw VMCoreInfoError(
                key: "NUMBER(PG_slab)", purpose: purpose + " (neither PG_slab nor PAGE_SLAB_MAPCOUNT_VALUE)")
        }
        try checkRanges(purpose: purpose)
    }
}
