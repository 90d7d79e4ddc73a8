/// A makedumpfile-style dump level: which kinds of pages to leave out, and what this run actually applies.
///
/// Bits: 1 zero pages, 2 page cache without private data, 4 all page cache, 8 user pages (anonymous and
/// hugetlb), 16 free pages. `applied` starts equal to `requested`; the page selector lowers it (with a
/// `warning`) when the crashed kernel's layout cannot be read safely, never the other way.
public struct DumpLevel: Equatable, Sendable {
    /// The level asked for (0...31).
    public let requested: Int
    /// The level actually applied.
    public private(set) var applied: Int
    /// Why the applied level differs from the requested one, or nil when it does not.
    public private(set) var warning: String?

    /// Zero pages (bit 1).
    public static let zeroPagesBit = 1
    /// Page cache without private data (bit 2).
    public static let cacheBit = 2
    /// All page cache, private or not (bit 4).
    public static let privateCacheBit = 4
    /// User process pages: anonymous and hugetlb (bit 8).
    public static let userBit = 8
    /// Free pages of the buddy allocator (bit 16).
    public static let freeBit = 16
    /// The bits decided from the `struct page` array (everything but zero pages).
    public static let structPageBits = cacheBit | privateCacheBit | userBit | freeBit

    /// A level from 0 through 31; nil otherwise.
    public init?(_ requested: Int) {
        guard (0...31).contains(requested) else { return nil }
        self.requested = requested
        applied = requested
    }

    /// Whether zero pages are left out.
    public var excludesZeroPages: Bool { applied & DumpLevel.zeroPagesBit != 0 }
    /// Whether any applied bit needs the `struct page` walk.
    public var needsPageWalk: Bool { applied & DumpLevel.structPageBits != 0 }

    /// This level with `bits` removed from the applied level, recording `reason` in the warning.
    public func lowered(removing bits: Int, because reason: String) -> DumpLevel {
        var copy = self
        copy.applied &= ~bits
        let text = "dump level \(requested) lowered to \(copy.applied): \(reason)"
        copy.warning = warning.map { $0 + "; " + text } ?? text
        return copy
    }
}
