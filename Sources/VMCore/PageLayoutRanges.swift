/// The ranges a `PageLayout` read from a crashed kernel's VMCOREINFO must respect before the page walk uses it:
/// every field inside `SIZE(page)`, every `PG_*` bit inside the 64-bit flags word, buddy orders that fit a shift.
extension PageLayout {
    /// Largest `LENGTH(zone.free_area)` accepted (one more than the largest buddy order; x86_64 has 11).
    public static let maximumFreeAreaLength = 32

    /// Throws naming the first entry out of range.
    func checkRanges(purpose: String) throws(VMCoreInfoError) {
        guard size >= 32 else {
            throw VMCoreInfoError(key: "SIZE(page)", value: "\(size)", purpose: purpose, expected: "32...65536")
        }
        // (key, offset, bytes read there)
        var fields: [(String, Int, Int)] = [
            ("OFFSET(page.flags)", flagsOffset, 8), ("OFFSET(page._mapcount)", mapcountOffset, 4),
            ("OFFSET(page.mapping)", mappingOffset, 8), ("OFFSET(page.private)", privateOffset, 8),
            ("OFFSET(page.compound_head)", compoundHeadOffset, 8),
        ]
        if let offset = compoundOrderOffset { fields.append(("OFFSET(page.compound_order)", offset, 1)) }
        if let offset = compoundDtorOffset { fields.append(("OFFSET(page.compound_dtor)", offset, 1)) }
        for (key, offset, width) in fields where offset < 0 || offset > size - width {
            throw VMCoreInfoError(
                key: key, value: "\(offset)", purpose: purpose + " (inside SIZE(page)=\(size))",
                expected: "0...\(size - width)")
        }
        let bits: [(String, Int?)] = [
            ("PG_lru", lruBit), ("PG_private", privateBit), ("PG_swapcache", swapCacheBit),
            ("PG_swapbacked", swapBackedBit), ("PG_hwpoison", hwPoisonBit), ("PG_slab", slabBit),
            ("PG_hugetlb", hugetlbFlagBit),
        ]
        for (name, bit) in bits {
            if let bit, !(0..<64).contains(bit) {
                throw VMCoreInfoError(
                    key: "NUMBER(\(name))", value: "\(bit)", purpose: purpose + " (a bit of page.flags)",
                    expected: "0...63")
            }
        }
        guard (1...PageLayout.maximumFreeAreaLength).contains(freeAreaLength) else {
            throw VMCoreInfoError(
                key: "LENGTH(zone.free_area)", value: "\(freeAreaLength)",
                purpose: purpose + " (buddy orders)", expected: "1...\(PageLayout.maximumFreeAreaLength)")
        }
    }
}
