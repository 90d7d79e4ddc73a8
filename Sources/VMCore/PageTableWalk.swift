/// x86_64 page-table translation through the crashed kernel's own tables (`SYMBOL(init_top_pgt)`), for addresses
/// that no PT_LOAD maps directly: vmalloc'ed memory such as `CONFIG_VMAP_STACK` task stacks.
extension ELFCore {
    /// Mask of the physical frame address in a page-table entry (bits 12...51).
    static let pageFrameMask: UInt64 = 0x000f_ffff_ffff_f000

    /// Reads `count` bytes of physical memory at `address` (all inside PT_LOADs); bytes past `p_filesz` read as zero.
    public func readPhysical(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        try read(address, count: count, what: what, isVirtual: false)
    }

    /// The physical address of virtual `address` by walking the kernel page tables (4 or 5 levels, 1 GiB and 2 MiB
    /// leaves); nil when an entry on the way is not present. Throws when VMCOREINFO lacks `SYMBOL(init_top_pgt)`.
    public func translateThroughPageTables(_ address: UInt64) throws -> UInt64? {
        guard let info = vmcoreInfo else { throw VMCoreInfoError(key: "SYMBOL(init_top_pgt)", purpose: "page tables") }
        let top = try info.requireSymbol("init_top_pgt", for: "walking the kernel page tables")
        let levels = info.number("pgtable_l5_enabled") == 1 ? 5 : 4
        // Index shifts of the levels from the top: PGD(5-level: 48), P4D/PGD(39), PUD(30), PMD(21), PTE(12).
        let shifts: [UInt64] = levels == 5 ? [48, 39, 30, 21, 12] : [39, 30, 21, 12]
        var tableIsVirtual = true
        var table = top
        for (level, shift) in shifts.enumerated() {
            let slot = (address >> shift) & 0x1ff
            let what = "page-table entry (level \(shifts.count - level)) for \(hex(address))"
            let bytes = tableIsVirtual
                ? try readVirtual(table + slot * 8, count: 8, what: what)
                : try readPhysical(table + slot * 8, count: 8, what: what)
            let entry = bytes.littleEndian(UInt64.self, at: 0)!
            guard entry & 1 != 0 else { return nil }
            let frame = entry & ELFCore.pageFrameMask
            let isLeaf = shift == 12 || ((shift == 30 || shift == 21) && entry & 0x80 != 0)
            if isLeaf {
                let pageMask = (UInt64(1) << shift) - 1
                return (frame & ~pageMask) | (address & pageMask)
            }
            table = frame
            tableIsVirtual = false
        }
        return nil
    }

    /// Reads kernel virtual memory: through the PT_LOADs where they map the address, else page by page through the
    /// kernel page tables (vmalloc, vmapped stacks). Throws `UnmappedAddressError` for an unmapped page.
    public func readKernelVirtual(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var current = address
        while result.count < count {
            let pageEnd = (current | 0xfff) &+ 1
            let length = Int(min(UInt64(count - result.count), pageEnd &- current))
            if locate(virtual: current) != nil {
                result += try readVirtual(current, count: length, what: what)
            } else {
                guard let physical = try translateThroughPageTables(current) else {
                    throw UnmappedAddressError(address: current, isVirtual: true, what: what)
                }
                result += try readPhysical(physical, count: length, what: what)
            }
            current &+= UInt64(length)
        }
        return result
    }
}
