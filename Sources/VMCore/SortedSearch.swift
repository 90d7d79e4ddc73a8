extension RandomAccessCollection where Index == Int {
    /// In a collection ordered so that `isAbove` is false for a prefix and true for the rest, the index where the
    /// rest starts (`endIndex` when it is empty): binary search. With `{ $0 > x }` on sorted starts, the element
    /// before it is the last one starting at or below `x`.
    func partitionPoint(_ isAbove: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let middle = (low + high) / 2
            if isAbove(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
