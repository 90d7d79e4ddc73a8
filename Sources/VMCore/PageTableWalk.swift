/// Physical and kernel virtual reads of an ELF core: through its PT_LOADs, and through the crashed kernel's own page
/// tables (`KernelMemory.translateThroughPageTables`) for addresses no PT_LOAD maps: vmalloc'ed memory such as
/// `CONFIG_VMAP_STACK` task stacks.
extension ELFCore {
    /// Reads `count` bytes of physical memory at `address` (all inside PT_LOADs); bytes past `p_filesz` read as zero.
    public func readPhysical(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        try read(address, count: count, what: what, isVirtual: false)
    }

    /// Reads kernel virtual memory: through the PT_LOADs where they map the address, else page by page through the
    /// kernel page tables (vmalloc, vmapped stacks). Throws `UnmappedAddressError` for an unmapped page.
    public func readKernelVirtual(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        guard count >= 0, UInt64(count) <= readLimit else {
            throw OversizedReadError(address: address, count: count, limit: readLimit, what: what)
        }
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
