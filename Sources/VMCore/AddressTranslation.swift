/// A kernel address that no PT_LOAD segment of the dump covers.
public struct UnmappedAddressError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The address.
    public var address: UInt64
    /// Whether it is virtual (else physical).
    public var isVirtual: Bool
    /// What was being read there.
    public var what: String

    public init(address: UInt64, isVirtual: Bool, what: String) {
        self.address = address
        self.isVirtual = isVirtual
        self.what = what
    }

    public var description: String {
        "\(isVirtual ? "virtual" : "physical") address \(hex(address)) (\(what)) is not in any PT_LOAD segment of the dump"
    }
}

extension ELFCore {
    /// The x86_64 direct-map base (`PAGE_OFFSET`, KASLR-randomised) as the dump's direct-map segments show it:
    /// `p_vaddr - p_paddr` of the first PT_LOAD below the kernel text mapping region.
    public var directMapBase: UInt64? {
        let kernelHalf: UInt64 = 0xffff_8000_0000_0000
        return loadSegments.first { $0.header.virtualAddress >= kernelHalf && !$0.header.mapsKernelText }
            .map { $0.header.virtualAddress &- $0.header.physicalAddress }
    }

    /// The most one read may ask for: what the file holds (past `p_filesz` a segment reads as zeros, but no read
    /// of a kernel structure is larger than the dump), and never less than 16 MiB.
    var readLimit: UInt64 { max(fileSize, 16 << 20) }

    /// Where virtual address `address` is: the PT_LOAD covering it, else the direct map (`PAGE_OFFSET + paddr`).
    /// Returns the segment's index in `programHeaders` and the offset inside the segment.
    public func locate(virtual address: UInt64) -> (segment: Int, offset: UInt64)? {
        if let index = segmentIndex.segment(virtual: address) {
            return (index, address - programHeaders[index].virtualAddress)
        }
        if let base = directMapBase, address >= base { return locate(physical: address - base) }
        return nil
    }

    /// Where physical address `address` is: the PT_LOAD covering it (direct-map segments before the text mapping).
    public func locate(physical address: UInt64) -> (segment: Int, offset: UInt64)? {
        segmentIndex.segment(physical: address).map { ($0, address - programHeaders[$0].physicalAddress) }
    }

    /// The file offset of virtual address `address`, when its byte is stored in the file.
    public func fileOffset(virtual address: UInt64) -> UInt64? {
        locate(virtual: address).flatMap(fileOffset(of:))
    }

    /// The file offset of physical address `address`, when its byte is stored in the file.
    public func fileOffset(physical address: UInt64) -> UInt64? {
        locate(physical: address).flatMap(fileOffset(of:))
    }

    /// The file offset of the `count` bytes at physical address `address`, when one segment stores every one of them
    /// in the file (its `fileRange`, cut at the file's end, reaches the last), so that they can be mapped at once.
    public func fileOffset(physical address: UInt64, count: UInt64) -> UInt64? {
        guard count > 0, let (index, offset) = locate(physical: address) else { return nil }
        let stored = programHeaders[index].fileRange
        let end = min(stored.upperBound, fileSize)
        guard stored.lowerBound <= end, offset <= end - stored.lowerBound, count <= end - stored.lowerBound - offset
        else { return nil }
        return stored.lowerBound + offset
    }

    private func fileOffset(of location: (segment: Int, offset: UInt64)) -> UInt64? {
        let segment = programHeaders[location.segment]
        return location.offset < segment.fileSize ? segment.offset + location.offset : nil
    }

    /// Reads `count` bytes of kernel virtual memory at `address`, across segments when needed; bytes a segment
    /// stands for beyond its `p_filesz` read as zero. Throws `UnmappedAddressError` or a truncation error.
    public func readVirtual(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        try read(address, count: count, what: what, isVirtual: true)
    }

    /// Reads `count` bytes at a virtual or physical `address` through the PT_LOAD segments, across segments when
    /// needed; bytes a segment stands for beyond its `p_filesz` read as zero.
    func read(_ address: UInt64, count: Int, what: String, isVirtual: Bool) throws -> [UInt8] {
        guard count >= 0, UInt64(count) <= readLimit else {
            throw OversizedReadError(address: address, count: count, limit: readLimit, what: what)
        }
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var current = address
        while result.count < count {
            guard let (index, offset) = isVirtual ? locate(virtual: current) : locate(physical: current) else {
                throw UnmappedAddressError(address: current, isVirtual: isVirtual, what: what)
            }
            let segment = programHeaders[index]
            let inSegment = min(UInt64(count - result.count), segment.memorySize - offset)
            let inFile = offset < segment.fileSize ? min(inSegment, segment.fileSize - offset) : 0
            if inFile > 0 {
                result += try readBytes(atFileOffset: segment.offset + offset, count: Int(inFile), what: what)
            }
            result += [UInt8](repeating: 0, count: Int(inSegment - inFile))
            current &+= inSegment
        }
        return result
    }
}
