import VMCore

/// A whole machine for the struct page walk, small enough to build in a test: 64 frames of physical memory in one
/// direct-map PT_LOAD, holding the kernel's 4-level page tables, a classic (not EXTREME) `mem_section` array and the
/// vmemmap `struct page` array of section 0, with the Linux 6.1 VMCOREINFO entries the walk reads.
///
/// Frames: 1 `init_top_pgt`, 2-4 the PUD, PMD and PTE tables mapping `vmemmap`, 5 the 64 struct pages (64 bytes
/// each), 6 `mem_section`. Pages: 32-35 a free buddy block of order 2, 40 anonymous, 41 page cache, the rest kernel
/// pages. Level 31 leaves out 32-35, 40 and 41 (and the zero frames, decided by the writers).
public enum PageWalkFixture {
    public static let frames = 64
    public static let vmemmap: UInt64 = 0xffff_ea00_0000_0000
    public static func direct(_ physical: UInt64) -> UInt64 { SyntheticCore.pageOffset + physical }

    /// The VMCOREINFO text; `replacing` swaps the value of an entry (or adds it), `removing` drops entries.
    public static func vmcoreinfo(replacing changes: [String: String] = [:], removing: Set<String> = []) -> String {
        var entries: [(String, String)] = [
            ("OSRELEASE", "6.1.0-walk"), ("PAGESIZE", "4096"),
            ("SYMBOL(init_top_pgt)", String(direct(0x1000), radix: 16)),
            ("SYMBOL(mem_section)", String(direct(0x6000), radix: 16)),
            ("SIZE(mem_section)", "16"), ("OFFSET(mem_section.section_mem_map)", "0"),
            ("LENGTH(mem_section)", "524288"), ("NUMBER(SECTION_SIZE_BITS)", "27"), ("NUMBER(MAX_PHYSMEM_BITS)", "46"),
            ("SIZE(page)", "64"), ("OFFSET(page.flags)", "0"), ("OFFSET(page._mapcount)", "48"),
            ("OFFSET(page.mapping)", "24"), ("OFFSET(page.private)", "40"), ("OFFSET(page.compound_head)", "8"),
            ("OFFSET(page.compound_dtor)", "16"), ("OFFSET(page.compound_order)", "17"),
            ("LENGTH(zone.free_area)", "11"), ("NUMBER(PG_swapcache)", "10"), ("NUMBER(PG_hwpoison)", "23"),
            ("NUMBER(PG_lru)", "4"), ("NUMBER(PG_private)", "13"), ("NUMBER(PG_swapbacked)", "19"),
            ("NUMBER(PG_slab)", "9"), ("NUMBER(PG_head_mask)", "65536"), ("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", "-129"),
            ("NUMBER(HUGETLB_PAGE_DTOR)", "2"), ("NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)", "-257"),
        ]
        for (key, value) in changes {
            if let index = entries.firstIndex(where: { $0.0 == key }) {
                entries[index].1 = value
            } else {
                entries.append((key, value))
            }
        }
        return entries.filter { !removing.contains($0.0) }.map { "\($0.0)=\($0.1)\n" }.joined()
    }

    /// The physical memory image; `buddyOrder` is the free block's `private` word.
    public static func memory(buddyOrder: UInt64 = 2) -> [UInt8] {
        var memory = [UInt8](repeating: 0, count: frames * 4096)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) { SyntheticCore.put(&memory, value, at: offset) }
        func entry(_ frame: Int) -> UInt64 { UInt64(frame) << 12 | 0x63 }  // present, writable, accessed, dirty
        put(entry(2), at: 0x1000 + Int((vmemmap >> 39) & 0x1ff) * 8)
        put(entry(3), at: 0x2000 + Int((vmemmap >> 30) & 0x1ff) * 8)
        put(entry(4), at: 0x3000 + Int((vmemmap >> 21) & 0x1ff) * 8)
        put(entry(5), at: 0x4000 + Int((vmemmap >> 12) & 0x1ff) * 8)
        put(vmemmap | 3, at: 0x6000)  // section 0: present, has a mem_map
        func page(_ pfn: Int) -> Int { 0x5000 + pfn * 64 }
        for pfn in 0..<frames { put(UInt32.max, at: page(pfn) + 48) }  // _mapcount -1
        put(UInt32(truncatingIfNeeded: -129), at: page(32) + 48)
        put(buddyOrder, at: page(32) + 40)
        put(UInt64(0xffff_8880_0def_0001), at: page(40) + 24)  // anon_vma | PAGE_MAPPING_ANON
        put(UInt64(1) << 4, at: page(41))  // PG_lru
        put(UInt64(0xffff_8880_0abc_0000), at: page(41) + 24)
        for frame in 7..<frames where frame % 3 != 0 {  // some data: frames divisible by 3 stay zero
            for offset in stride(from: 0, to: 4096, by: 8) {
                put(UInt64(frame) << 32 | UInt64(offset), at: frame * 4096 + offset)
            }
        }
        return memory
    }

    /// The core file.
    public static func core(vmcoreinfo text: String = vmcoreinfo(), memory: [UInt8] = memory()) -> SyntheticCore {
        var core = SyntheticCore()
        core.notes = [
            SyntheticCore.prstatus(pid: 1, rip: 0xffff_ffff_8100_0000, rsp: 0), SyntheticCore.vmcoreinfo(text),
        ]
        core.segments = [.init(virtualAddress: direct(0), physicalAddress: 0, data: memory)]
        return core
    }
}
