/// How a kernel marks a page's type (buddy, slab, hugetlb, offline…) in `struct page`'s `_mapcount`/`page_type`.
///
/// Decided from the value VMCOREINFO exports (`NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)`), not from the version string:
/// - `clearedBit` before 6.12: a typed page has the base bits set and its type's bit cleared; the base is
///   `0xf0000000` with low type bits (`-129` is buddy, before 6.10) or `0x80000000` with high ones (6.10–6.11);
/// - `typeByte` from 6.12: the type is the top byte (`PGTY_buddy << 24`).
public enum PageTypeEncoding: Equatable, Sendable {
    /// `(page_type & (base | bit)) == base` means the page has the type whose bit is cleared.
    case clearedBit(base: UInt32)
    /// `page_type >> 24` is the type.
    case typeByte

    /// The encoding a kernel uses, from its exported buddy value; nil for a value no known kernel uses.
    public init?(buddyValue: Int64) {
        let value = UInt32(truncatingIfNeeded: buddyValue)
        let bit = ~value
        if bit.nonzeroBitCount == 1 {
            if bit < 0x1_0000 && bit >= 0x80 {
                self = .clearedBit(base: 0xf000_0000)
            } else if bit >= 0x0100_0000 && bit < 0x8000_0000 {
                self = .clearedBit(base: 0x8000_0000)
            } else {
                return nil
            }
        } else if value & 0x00ff_ffff == 0 && value >> 24 >= 0x80 && value >> 24 != 0xff {
            self = .typeByte
        } else {
            return nil
        }
    }

    /// Whether the `_mapcount` word `mapcount` marks the type whose exported value is `typeValue`.
    @inline(__always) public func matches(_ mapcount: UInt32, typeValue: Int64) -> Bool {
        let value = UInt32(truncatingIfNeeded: typeValue)
        switch self {
        case .clearedBit(let base):
            return mapcount & (base | ~value) == base
        case .typeByte:
            return mapcount >> 24 == value >> 24
        }
    }
}
