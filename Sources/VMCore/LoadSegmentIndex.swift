/// Finds the PT_LOAD covering an address in O(log n): a filtered ELF dump can have tens of thousands of them.
///
/// Each address space keeps the segments sorted by start; a lookup takes the last segment starting at or below the
/// address. Segments that overlap in one space (never the case in kernel dumps) fall back to a scan in file order.
final class LoadSegmentIndex: Sendable {
    /// Indices into `programHeaders` of the PT_LOADs, sorted by start, and whether any two overlap.
    private struct Space: Sendable {
        var starts: [UInt64] = []
        var indices: [Int] = []
        var overlapping = false
    }

    private let virtualSpace: Space
    /// Direct-map (and identity) segments: physical lookups try them before the kernel text mapping.
    private let physicalSpace: Space
    private let textSpace: Space
    private let headers: [ProgramHeader]
    /// The PT_LOADs with their index in the program headers, in file order.
    let loads: [(index: Int, header: ProgramHeader)]

    init(_ programHeaders: [ProgramHeader]) {
        headers = programHeaders
        let loads = programHeaders.indices.filter { programHeaders[$0].type == ProgramHeader.typeLoad }
        self.loads = loads.map { ($0, programHeaders[$0]) }
        func space(_ members: [Int], _ range: (ProgramHeader) -> Range<UInt64>) -> Space {
            let sorted = members.sorted {
                (range(programHeaders[$0]).lowerBound, $0) < (range(programHeaders[$1]).lowerBound, $1)
            }
            var result = Space()
            result.indices = sorted
            result.starts = sorted.map { range(programHeaders[$0]).lowerBound }
            for (a, b) in zip(sorted, sorted.dropFirst())
            where range(programHeaders[a]).upperBound > range(programHeaders[b]).lowerBound {
                result.overlapping = true
            }
            return result
        }
        virtualSpace = space(loads) { $0.virtualRange }
        physicalSpace = space(loads.filter { !programHeaders[$0].mapsKernelText }) { $0.physicalRange }
        textSpace = space(loads.filter { programHeaders[$0].mapsKernelText }) { $0.physicalRange }
    }

    /// The index in `programHeaders` of the PT_LOAD whose virtual range holds `address`.
    func segment(virtual address: UInt64) -> Int? { find(address, in: virtualSpace) { $0.virtualRange } }

    /// The index of the PT_LOAD whose physical range holds `address`, direct-map segments first.
    func segment(physical address: UInt64) -> Int? {
        find(address, in: physicalSpace) { $0.physicalRange } ?? find(address, in: textSpace) { $0.physicalRange }
    }

    private func find(_ address: UInt64, in space: Space, _ range: (ProgramHeader) -> Range<UInt64>) -> Int? {
        if space.overlapping {
            return space.indices.sorted().first { range(headers[$0]).contains(address) }
        }
        // The first start above the address; the candidate is the one before it.
        let low = space.starts.partitionPoint { $0 > address }
        guard low > 0 else { return nil }
        let candidate = space.indices[low - 1]
        return range(headers[candidate]).contains(address) ? candidate : nil
    }
}
