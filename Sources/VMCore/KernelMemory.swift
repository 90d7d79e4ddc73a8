/// A crashed kernel's memory as a dump holds it: VMCOREINFO, the CPUs' registers, and reads of physical and kernel
/// virtual memory. ELF cores and kdump-compressed files both provide it, so the log, kallsyms and the stack scan
/// are read the same way from either.
public protocol KernelMemory {
    /// The dump's path, for messages.
    var path: String { get }
    /// The VMCOREINFO note, when present.
    var vmcoreInfo: VMCoreInfo? { get }
    /// The `NT_PRSTATUS` notes, one per CPU.
    var cpus: [PRStatus] { get }
    /// Reads `count` bytes of physical memory at `address`.
    func readPhysical(_ address: UInt64, count: Int, what: String) throws -> [UInt8]
    /// Reads `count` bytes at kernel virtual `address` through the mappings the dump itself describes (the kernel
    /// text mapping and the direct map).
    func readVirtual(_ address: UInt64, count: Int, what: String) throws -> [UInt8]
    /// Reads kernel virtual memory anywhere the kernel mapped it (also vmalloc, vmapped stacks).
    func readKernelVirtual(_ address: UInt64, count: Int, what: String) throws -> [UInt8]
    /// Closes the file.
    func close() throws
    /// Reads the top-level page table at kernel virtual `address` without walking page tables (the kernel image
    /// mapping or the dump's own mappings), so that translation never recurses into itself.
    func readPageTableRoot(_ address: UInt64, count: Int, what: String) throws -> [UInt8]
}

/// A read of more bytes than the dump could hold: a size taken from corrupt data, refused before allocating.
public struct OversizedReadError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Where the read starts.
    public var address: UInt64
    /// The bytes asked for.
    public var count: Int
    /// The most the dump can provide.
    public var limit: UInt64
    /// What was being read.
    public var what: String

    public init(address: UInt64, count: Int, limit: UInt64, what: String) {
        self.address = address
        self.count = count
        self.limit = limit
        self.what = what
    }

    public var description: String {
        "reading \(count) bytes of \(what) at \(hex(address)): more than the dump holds (at most \(limit) bytes)"
    }
}

extension KernelMemory {
    /// Reads the little-endian 64-bit value at virtual address `address`.
    public func readVirtualUInt64(_ address: UInt64, what: String) throws -> UInt64 {
        let bytes = try readVirtual(address, count: 8, what: what)
        guard let value = bytes.littleEndian(UInt64.self, at: 0) else {
            throw UnmappedAddressError(address: address, isVirtual: true, what: what)
        }
        return value
    }

    /// The physical address of virtual `address` by walking the kernel page tables (4 or 5 levels, 1 GiB and 2 MiB
    /// leaves); nil when an entry on the way is not present. Throws when VMCOREINFO lacks `SYMBOL(init_top_pgt)`.
    public func translateThroughPageTables(_ address: UInt64) throws -> UInt64? {
        try pageTableMapping(address)?.physical
    }

    /// The physical address of virtual `address` through the kernel page tables, and how many bytes from it on
    /// the same leaf (4 KiB page, 2 MiB or 1 GiB mapping) maps contiguously; nil when an entry on the way is not
    /// present. Throws when VMCOREINFO lacks `SYMBOL(init_top_pgt)`.
    public func pageTableMapping(_ address: UInt64) throws -> (physical: UInt64, contiguousBytes: UInt64)? {
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
            let bytes =
                tableIsVirtual
                ? try readPageTableRoot(table &+ slot * 8, count: 8, what: what)
                : try readPhysical(table &+ slot * 8, count: 8, what: what)
            guard let entry = bytes.littleEndian(UInt64.self, at: 0) else {
                throw UnmappedAddressError(address: table &+ slot * 8, isVirtual: tableIsVirtual, what: what)
            }
            guard entry & 1 != 0 else { return nil }
            let frame = entry & pageFrameMask
            let isLeaf = shift == 12 || ((shift == 30 || shift == 21) && entry & 0x80 != 0)
            if isLeaf {
                let pageMask = (UInt64(1) << shift) - 1
                return ((frame & ~pageMask) | (address & pageMask), pageMask + 1 - (address & pageMask))
            }
            table = frame
            tableIsVirtual = false
        }
        return nil
    }
}

/// Mask of the physical frame address in an x86_64 page-table entry (bits 12...51).
let pageFrameMask: UInt64 = 0x000f_ffff_ffff_f000

extension ELFCore: KernelMemory {
    /// The root table through the PT_LOADs (and the direct map), never through the page tables.
    public func readPageTableRoot(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        try readVirtual(address, count: count, what: what)
    }
}
