import TestSupport
import Testing

@testable import VMCore

/// The struct page array read through the page tables: whole leaf mappings read at once must give the bytes, and
/// the count of unmapped pieces, that one read per 4 KiB piece gives.
@Suite struct StructPageReadTests {
    static let vmemmap: UInt64 = 0xffff_ea00_0000_0000

    /// 4 MiB of physical memory in one direct-map PT_LOAD, every 8 bytes their own address; frames 1-4 hold the page
    /// tables: `vmemmap`'s first 2 MiB is one leaf at physical 2 MiB, the next 4 KiB pages map to frames 0x10, 0x11
    /// (after 0x10 in the file), nothing, 0x20, and a frame no segment holds.
    static func core() -> SyntheticCore {
        var memory = [UInt8](repeating: 0, count: 4 << 20)
        for offset in stride(from: 0x5000, to: memory.count, by: 8) {
            SyntheticCore.put(&memory, UInt64(offset) | 0xabcd_0000_0000_0000, at: offset)
        }
        func put(_ value: UInt64, at offset: Int) { SyntheticCore.put(&memory, value, at: offset) }
        let flags: UInt64 = 0x63  // present, writable, accessed, dirty
        put(0x2000 | flags, at: 0x1000 + Int((vmemmap >> 39) & 0x1ff) * 8)
        put(0x3000 | flags, at: 0x2000 + Int((vmemmap >> 30) & 0x1ff) * 8)
        put(0x20_0000 | flags | 0x80, at: 0x3000 + Int((vmemmap >> 21) & 0x1ff) * 8)  // a 2 MiB leaf
        put(0x4000 | flags, at: 0x3000 + Int((vmemmap >> 21) & 0x1ff) * 8 + 8)
        put(0x10000 | flags, at: 0x4000)
        put(0x11000 | flags, at: 0x4008)
        put(0x20000 | flags, at: 0x4018)
        put(0x1000_0000 | flags, at: 0x4020)
        var core = SyntheticCore()
        core.notes = [
            SyntheticCore.vmcoreinfo(
                "OSRELEASE=6.1.0-leaves\nPAGESIZE=4096\nSYMBOL(init_top_pgt)="
                    + String(SyntheticCore.pageOffset + 0x1000, radix: 16) + "\n")
        ]
        core.segments = [.init(virtualAddress: SyntheticCore.pageOffset, physicalAddress: 0, data: memory)]
        return core
    }

    @Test(arguments: [0, 64, 4096 + 8])
    func leavesReadAtOnceGiveWhatPageByPageReadsGive(startOffset: Int) throws {
        let synthetic = Self.core()
        let scratch = try TemporaryDirectory("leaves")
        let core = try ELFCore.open(try scratch.write("vmcore", synthetic.bytes()))
        defer { try? core.close() }
        let memory = synthetic.segments[0].data
        // From 3 pieces before the end of the 2 MiB leaf to the end of the fifth 4 KiB page after it.
        let start = Self.vmemmap + 0x20_0000 - 3 * 4096 + UInt64(startOffset)
        var buffer = [UInt8](repeating: 0xee, count: Int(Self.vmemmap + 0x20_0000 + 5 * 4096 - start))
        let unreadable = try PageSelector.readStructPages(core, at: start, into: &buffer)
        // The same, one 4 KiB piece at a time.
        var expected: [UInt8] = []
        var expectedUnreadable: UInt64 = 0
        var address = start
        while expected.count < buffer.count {
            let length = min(buffer.count - expected.count, Int(4096 - address % 4096))
            let offset = address - Self.vmemmap
            let physical: Int? =
                offset < 0x20_0000
                ? 0x20_0000 + Int(offset)
                : [0x10000, 0x11000, nil, 0x20000, 0x1000_0000][Int((offset - 0x20_0000) / 4096)].map {
                    $0 + Int(offset % 4096)
                }
            if let physical, physical + length <= memory.count {
                expected += memory[physical..<(physical + length)]
            } else {
                expected += [UInt8](repeating: 0, count: length)
                expectedUnreadable += 1
            }
            address += UInt64(length)
        }
        #expect(unreadable == 2)
        #expect(unreadable == expectedUnreadable)
        #expect(buffer == expected)
    }

    /// Mapping a section's struct pages straight from the file: only when one leaf maps them all and the file holds
    /// every byte of them (else the caller reads them piece by piece, and nothing past the end of the file is
    /// touched).
    @Test func structPagesAreMappedOnlyWhenOneLeafAndTheFileHoldThemAll() throws {
        let synthetic = Self.core()
        let scratch = try TemporaryDirectory("mapped-leaves")
        let bytes = synthetic.bytes()
        let memory = synthetic.segments[0].data
        let core = try ELFCore.open(try scratch.write("vmcore", bytes))
        defer { try? core.close() }
        func mapped(_ core: ELFCore, _ address: UInt64, _ count: Int) -> [UInt8]? {
            var canMap = true
            guard let map = unsafe PageSelector.mapStructPages(core, at: address, count: count, canMap: &canMap) else {
                #expect(canMap)
                return nil
            }
            defer { unsafe map.unmap() }
            return unsafe Array(map.bytes)
        }
        // The whole 2 MiB leaf, and 64 KiB from 64 bytes into it: the bytes at physical 2 MiB on.
        #expect(mapped(core, Self.vmemmap, 0x20_0000) == Array(memory[0x20_0000..<0x40_0000]))
        #expect(mapped(core, Self.vmemmap + 64, 0x1_0000) == Array(memory[(0x20_0000 + 64)..<(0x21_0000 + 64)]))
        // Past the leaf's end (the next 4 KiB leaf is elsewhere), a 4 KiB leaf no segment holds, an unmapped piece.
        #expect(mapped(core, Self.vmemmap + 0x20_0000 - 4096, 8192) == nil)
        #expect(mapped(core, Self.vmemmap + 0x20_0000 + 4 * 4096, 64) == nil)
        #expect(mapped(core, Self.vmemmap + 0x20_0000 + 2 * 4096, 64) == nil)
        #expect(mapped(core, Self.vmemmap + 0x20_0000, 4096) == Array(memory[0x10000..<0x11000]))
        // A file cut 4 KiB short of the segment's end: the leaf's last page is not in it, so the leaf is not mapped.
        let cut = try ELFCore.open(try scratch.write("cut", Array(bytes.dropLast(4096))))
        defer { try? cut.close() }
        #expect(mapped(cut, Self.vmemmap, 0x20_0000) == nil)
        #expect(mapped(cut, Self.vmemmap, 0x20_0000 - 4096) == Array(memory[0x20_0000..<(0x40_0000 - 4096)]))
    }
}
