/// One bit per page frame number, as the kdump-compressed bitmaps hold them (bit `pfn % 8` of byte `pfn / 8`).
public struct PageBitmap: Equatable, Sendable {
    /// Number of page frames covered (pfns `0 ..< count`).
    public let count: UInt64
    /// The bits, 64 pfns per word, least significant bit first.
    public private(set) var words: [UInt64]

    /// A bitmap of `count` pfns, all clear.
    public init(count: UInt64) {
        self.count = count
        words = [UInt64](repeating: 0, count: Int((count + 63) / 64))
    }

    /// Whether `pfn` is set (false beyond `count`).
    @inline(__always) public func contains(_ pfn: UInt64) -> Bool {
        pfn < count && words[Int(pfn >> 6)] & (1 << (pfn & 63)) != 0
    }

    /// Sets `pfn`.
    @inline(__always) public mutating func insert(_ pfn: UInt64) {
        words[Int(pfn >> 6)] |= 1 << (pfn & 63)
    }

    /// Clears `pfn`; returns whether it was set.
    @inline(__always) @discardableResult public mutating func remove(_ pfn: UInt64) -> Bool {
        guard pfn < count else { return false }
        let mask: UInt64 = 1 << (pfn & 63)
        let was = words[Int(pfn >> 6)] & mask != 0
        words[Int(pfn >> 6)] &= ~mask
        return was
    }

    /// Sets every pfn in `range` (clamped to `count`).
    public mutating func insert(_ range: Range<UInt64>) {
        var pfn = range.lowerBound
        let end = min(range.upperBound, count)
        while pfn < end {
            if pfn & 63 == 0 && end - pfn >= 64 {
                words[Int(pfn >> 6)] = ~0
                pfn += 64
            } else {
                insert(pfn)
                pfn += 1
            }
        }
    }

    /// The first pfn at or after `pfn` and below `end` whose bit is `value`, or `end` when there is none.
    public func next(_ value: Bool, from pfn: UInt64, below end: UInt64) -> UInt64 {
        let end = min(end, count)
        var pfn = pfn
        while pfn < end {
            let word = value ? words[Int(pfn >> 6)] : ~words[Int(pfn >> 6)]
            let rest = word >> (pfn & 63)
            if rest != 0 { return min(end, pfn + UInt64(rest.trailingZeroBitCount)) }
            pfn = (pfn | 63) + 1
        }
        return end
    }

    /// The runs of set pfns in `range`, in order; runs apart by fewer than `mergingGapsBelow` clear pfns are joined
    /// (the clear pfns between them then lie inside the joined run).
    public func runs(in range: Range<UInt64>, mergingGapsBelow gap: UInt64 = 1) -> [Range<UInt64>] {
        var result: [Range<UInt64>] = []
        var start = next(true, from: range.lowerBound, below: range.upperBound)
        while start < range.upperBound {
            let end = next(false, from: start, below: range.upperBound)
            if let last = result.last, start - last.upperBound < gap {
                result[result.count - 1] = last.lowerBound..<end
            } else {
                result.append(start..<end)
            }
            start = next(true, from: end, below: range.upperBound)
        }
        return result
    }

    /// How many runs `runs(in:mergingGapsBelow:)` would return, counting no further than `limit` + 1.
    public func runCount(in range: Range<UInt64>, mergingGapsBelow gap: UInt64 = 1, limit: Int = .max) -> Int {
        var count = 0
        var lastEnd: UInt64?
        var start = next(true, from: range.lowerBound, below: range.upperBound)
        while start < range.upperBound && count <= limit {
            let end = next(false, from: start, below: range.upperBound)
            if lastEnd.map({ start - $0 >= gap }) ?? true { count += 1 }
            lastEnd = end
            start = next(true, from: end, below: range.upperBound)
        }
        return count
    }

    /// A copy of the pfns `range` (starting at a multiple of 64), as a bitmap whose pfn 0 is `range.lowerBound`.
    public func part(_ range: Range<UInt64>) -> PageBitmap {
        precondition(range.lowerBound % 64 == 0 && range.upperBound <= count, "a part starts on a word")
        var result = PageBitmap(count: range.upperBound - range.lowerBound)
        let first = Int(range.lowerBound / 64)
        for index in result.words.indices { result.words[index] = words[first + index] }
        if result.count & 63 != 0 { result.words[result.words.count - 1] &= (1 << (result.count & 63)) - 1 }
        return result
    }

    /// Puts `part` (as made by `part(_:)`) back at pfn `base`.
    public mutating func replace(with part: PageBitmap, at base: UInt64) {
        precondition(base % 64 == 0 && base + part.count <= count, "a part starts on a word")
        let first = Int(base / 64)
        for index in part.words.indices {
            if index == part.words.count - 1 && part.count & 63 != 0 {
                let mask: UInt64 = (1 << (part.count & 63)) - 1
                words[first + index] = words[first + index] & ~mask | part.words[index] & mask
            } else {
                words[first + index] = part.words[index]
            }
        }
    }

    /// Number of pfns set.
    public var population: UInt64 { words.reduce(0) { $0 + UInt64($1.nonzeroBitCount) } }

    /// Number of pfns set below `pfn`.
    public func population(below pfn: UInt64) -> UInt64 {
        let word = Int(min(pfn, count) >> 6)
        var total: UInt64 = 0
        for index in 0..<word { total += UInt64(words[index].nonzeroBitCount) }
        let rest = min(pfn, count) & 63
        if rest > 0 { total += UInt64((words[word] & ((1 << rest) - 1)).nonzeroBitCount) }
        return total
    }

    /// The bitmap as bytes (`byteCount` bytes, zero-padded), the on-disk form of the kdump bitmaps.
    public func bytes(byteCount: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: byteCount)
        for (index, word) in words.enumerated() where word != 0 {
            for byte in 0..<8 where index * 8 + byte < byteCount {
                result[index * 8 + byte] = UInt8(truncatingIfNeeded: word >> (UInt64(byte) * 8))
            }
        }
        return result
    }

    /// Reads a bitmap of `count` pfns from its on-disk bytes.
    public init(bytes: [UInt8], count: UInt64) {
        self.init(count: count)
        for (index, byte) in bytes.enumerated() where byte != 0 && UInt64(index) * 8 < count {
            words[index / 8] |= UInt64(byte) << (UInt64(index % 8) * 8)
        }
        if count & 63 != 0, !words.isEmpty { words[words.count - 1] &= (1 << (count & 63)) - 1 }
    }
}
