/// The crashed kernel's SPARSEMEM sections (`mem_section`, classic or EXTREME): which page frames each covers and
/// where its `struct page` array (`section_mem_map`, decoded) is in kernel virtual memory (vmemmap).
public struct MemSection: Equatable, Sendable {
    /// The section number.
    public var number: UInt64
    /// The first page frame of the section.
    public var firstPfn: UInt64
    /// Page frames per section.
    public var pageCount: UInt64
    /// The virtual address of the `struct page` of `firstPfn`.
    public var memMap: UInt64

    /// `SECTION_MARKED_PRESENT`.
    static let markedPresent: UInt64 = 1 << 0
    /// `SECTION_HAS_MEM_MAP`.
    static let hasMemMap: UInt64 = 1 << 1
    /// The flag bits below the encoded map pointer (`SECTION_MAP_LAST_BIT` is at most 6 in 6.x kernels; the
    /// pointer is aligned far beyond that, since a section's array is page-aligned).
    static let flagMask: UInt64 = (1 << 6) - 1

    /// Every present section with a memory map below page frame `endPfn`, in order.
    public static func all(in core: ELFCore, below endPfn: UInt64) throws -> [MemSection] {
        guard let info = core.vmcoreInfo else {
            throw VMCoreInfoError(key: "SYMBOL(mem_section)", purpose: "finding struct pages (no VMCOREINFO note)")
        }
        let purpose = "finding struct pages (SPARSEMEM mem_section)"
        let root = try info.requireSymbol("mem_section", for: purpose)
        // mem_section is 16 or 32 bytes; a root of the EXTREME layout is one page of them.
        let entrySize = try info.requireNumber("SIZE(mem_section)", in: 8...4096, for: purpose)
        let mapOffset = try info.requireNumber(
            "OFFSET(mem_section.section_mem_map)", in: 0...(entrySize - 8), for: purpose + " (inside SIZE(mem_section))"
        )
        let pageStructSize = try info.requireSize("page", for: purpose)
        // The page bitmaps and the struct page walk are of 4 KiB frames, x86_64's only page size.
        let pageShift = (try info.optionalNumber("PAGESIZE", in: 4096...4096, for: purpose) ?? 4096)
            .trailingZeroBitCount
        // Sections of at least 4096 pages (x86_64 has 2^15, no kernel fewer than 2^12: the loop below is bounded by
        // it), within the physical address bits.
        let physBits = try info.requireNumber("NUMBER(MAX_PHYSMEM_BITS)", in: 32...52, for: purpose)
        let sectionBits = try info.requireNumber(
            "NUMBER(SECTION_SIZE_BITS)", in: (pageShift + 12)...physBits, for: purpose + " (within MAX_PHYSMEM_BITS)")
        let length = try info.requireNumber(
            "LENGTH(mem_section)", in: 1...(1 << (physBits - sectionBits)), for: purpose)
        let pfnShift = UInt64(sectionBits - pageShift)
        let totalSections = UInt64(1) << UInt64(physBits - sectionBits)
        let perRoot = UInt64(4096 / entrySize)
        let extreme: Bool
        if UInt64(length) == totalSections / perRoot {
            extreme = true
        } else if UInt64(length) == totalSections {
            extreme = false
        } else {
            throw VMCoreInfoError(
                key: "LENGTH(mem_section)", value: "\(length)",
                purpose: purpose + " (neither \(totalSections / perRoot) roots nor \(totalSections) sections)")
        }
        let pagesPerSection = UInt64(1) << pfnShift
        // endPfn is bounded by the page bitmap the file justifies; no sum below overflows.
        let lastSection = (endPfn + pagesPerSection - 1) >> pfnShift
        var sections: [MemSection] = []
        var rootIndex = UInt64.max
        var rootTable: UInt64 = 0
        for number in 0..<min(lastSection, totalSections) {
            let entry: UInt64
            if extreme {
                if number / perRoot != rootIndex {
                    rootIndex = number / perRoot
                    rootTable = try core.readKernelVirtualUInt64(
                        root &+ rootIndex * 8, what: "mem_section root \(rootIndex)")
                }
                guard rootTable != 0 else { continue }
                entry = rootTable &+ (number % perRoot) * UInt64(entrySize)
            } else {
                entry = root &+ number * UInt64(entrySize)
            }
            let encoded = try core.readKernelVirtualUInt64(entry &+ UInt64(mapOffset), what: "mem_section[\(number)]")
            guard encoded & markedPresent != 0, encoded & hasMemMap != 0 else { continue }
            let firstPfn = number << pfnShift
            // section_mem_map holds mem_map minus the section's first pfn (in struct pages), plus flags.
            let memMap = (encoded & ~flagMask) &+ firstPfn &* UInt64(pageStructSize)
            sections.append(MemSection(number: number, firstPfn: firstPfn, pageCount: pagesPerSection, memMap: memMap))
        }
        return sections
    }
}

extension ELFCore {
    /// Reads the little-endian 64-bit value at kernel virtual `address` (direct map or page tables).
    func readKernelVirtualUInt64(_ address: UInt64, what: String) throws -> UInt64 {
        let bytes = try readKernelVirtual(address, count: 8, what: what)
        guard let value = bytes.littleEndian(UInt64.self, at: 0) else {
            throw UnmappedAddressError(address: address, isVirtual: true, what: what)
        }
        return value
    }
}
