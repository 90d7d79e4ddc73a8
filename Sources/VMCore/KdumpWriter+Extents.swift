extension KdumpWriter {
    /// One stretch of frames with the file offset of its first byte in the input.
    struct Extent {
        var pfns: Range<UInt64>
        var fileOffset: UInt64
    }

    /// Where each present frame's bytes are in the input: direct-map segments first, then the kernel image
    /// segment for frames no other segment covers; whole pages only.
    static func extents(of core: ELFCore, pageSize: UInt64) -> [Extent] {
        let ordered = core.loadSegments.map(\.header).sorted {
            ($0.mapsKernelText ? 1 : 0, $0.physicalAddress) < ($1.mapsKernelText ? 1 : 0, $1.physicalAddress)
        }
        // Frames already provided, as disjoint ranges sorted by start (a filtered dump can have many segments).
        var covered: [Range<UInt64>] = []
        var result: [Extent] = []
        for segment in ordered where segment.fileSize >= pageSize {
            let skip = (pageSize - segment.physicalAddress % pageSize) % pageSize
            let first = (segment.physicalAddress + skip) / pageSize
            let end = (segment.physicalAddress + segment.fileSize) / pageSize
            guard first < end else { continue }
            // Split around frames an earlier segment already provides: the covered ranges that overlap start at
            // the last one beginning at or below `first`.
            let candidate = max(0, covered.partitionPoint { $0.lowerBound > first } - 1)
            var cursor = first
            var index = candidate
            while cursor < end {
                let next = index < covered.count ? covered[index] : end..<end
                if next.upperBound <= cursor {
                    index += 1
                    continue
                }
                let pieceEnd = min(end, max(cursor, next.lowerBound))
                if cursor < pieceEnd {
                    result.append(
                        Extent(pfns: cursor..<pieceEnd, fileOffset: segment.offset + skip + (cursor - first) * pageSize)
                    )
                }
                cursor = max(pieceEnd, min(end, next.upperBound))
                index += 1
            }
            // Record first..<end, joining the ranges it touches.
            var lower = first
            var upper = end
            var from = candidate
            while from < covered.count && covered[from].upperBound < first { from += 1 }
            var to = from
            while to < covered.count && covered[to].lowerBound <= end {
                lower = min(lower, covered[to].lowerBound)
                upper = max(upper, covered[to].upperBound)
                to += 1
            }
            covered.replaceSubrange(from..<to, with: [lower..<upper])
        }
        return result.sorted { $0.pfns.lowerBound < $1.pfns.lowerBound }
    }
}
