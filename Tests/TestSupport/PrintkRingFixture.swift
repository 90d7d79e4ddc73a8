import VMCore

/// A lockless printk ring laid out by hand in a synthetic core, with the x86_64 field offsets of Linux 6.1.
///
/// Ring: 8 descriptors, 128 bytes of text data. The walk goes from tail id 21 to head id 26:
///   21 finalized, text at 72..<104: bytes that need escaping
///   22 finalized, wrapped block (begin 104, next 152): its text is at the start of the ring
///   23 finalized, data-less (begin == next)
///   24 reserved (still being written): skipped
///   25 committed, text_len 29 but the block holds only 24 bytes: truncated
///   26 slot holds a stale id (18): skipped
public enum PrintkRingFixture {
    public static let textBase: UInt64 = 0xffff_ffff_8100_0000  // kernel text mapping, holds `prb`
    public static let textPhysical: UInt64 = 0x0200_0000
    public static let directPhysical: UInt64 = 0x0010_0000
    public static var directBase: UInt64 { SyntheticCore.pageOffset + directPhysical }

    public static let vmcoreinfo = """
        OSRELEASE=6.1.0-synthetic
        BUILD-ID=0123456789abcdef0123456789abcdef01234567
        PAGESIZE=4096
        SYMBOL(prb)=\(String(textBase + 0x10, radix: 16))
        SIZE(printk_ringbuffer)=88
        SIZE(prb_desc)=24
        SIZE(printk_info)=88
        OFFSET(printk_ringbuffer.desc_ring)=0
        OFFSET(printk_ringbuffer.text_data_ring)=48
        OFFSET(prb_desc_ring.count_bits)=0
        OFFSET(prb_desc_ring.descs)=8
        OFFSET(prb_desc_ring.infos)=16
        OFFSET(prb_desc_ring.head_id)=24
        OFFSET(prb_desc_ring.tail_id)=32
        OFFSET(atomic_long_t.counter)=0
        OFFSET(prb_data_ring.size_bits)=0
        OFFSET(prb_data_ring.data)=8
        OFFSET(prb_desc.state_var)=0
        OFFSET(prb_desc.text_blk_lpos)=8
        OFFSET(prb_data_blk_lpos.begin)=0
        OFFSET(prb_data_blk_lpos.next)=8
        OFFSET(printk_info.seq)=0
        OFFSET(printk_info.ts_nsec)=8
        OFFSET(printk_info.text_len)=16
        OFFSET(printk_info.caller_id)=20
        KERNELOFFSET=0
        CRASHTIME=1700000000
        """

    /// What vmcore-dmesg prints for this ring.
    public static let expectedDmesg =
        "[    1.000000] tab\there\\x01bell\\xff\n"
        + "[123456.000999] wrapped!\n"
        + "[    0.002500] \n"
        + "[   99.999999] Kernel panic - not synci\n"

    /// The core: a text-mapping segment holding the `prb` pointer, a direct-map segment holding the ring.
    public static func core() -> SyntheticCore {
        var text = [UInt8](repeating: 0, count: 4096)
        let ringbuffer = directBase  // struct printk_ringbuffer at the start of the direct-map segment
        SyntheticCore.put(&text, ringbuffer, at: 0x10)

        var direct = [UInt8](repeating: 0, count: 0x3000)
        let descsAt = 0x100
        let infosAt = 0x200
        let dataAt = 0x800
        // printk_ringbuffer.desc_ring
        SyntheticCore.put(&direct, UInt32(3), at: 0)  // count_bits: 8 descriptors
        SyntheticCore.put(&direct, directBase + UInt64(descsAt), at: 8)
        SyntheticCore.put(&direct, directBase + UInt64(infosAt), at: 16)
        SyntheticCore.put(&direct, UInt64(26), at: 24)  // head_id
        SyntheticCore.put(&direct, UInt64(21), at: 32)  // tail_id
        // printk_ringbuffer.text_data_ring
        SyntheticCore.put(&direct, UInt32(7), at: 48)  // size_bits: 128 bytes
        SyntheticCore.put(&direct, directBase + UInt64(dataAt), at: 56)

        func descriptor(
            id: UInt64, state: UInt64, stateID: UInt64? = nil, begin: UInt64, next: UInt64, ts: UInt64, length: UInt16
        ) {
            let slot = Int(id % 8)
            SyntheticCore.put(&direct, state << 62 | (stateID ?? id), at: descsAt + slot * 24)
            SyntheticCore.put(&direct, begin, at: descsAt + slot * 24 + 8)
            SyntheticCore.put(&direct, next, at: descsAt + slot * 24 + 16)
            SyntheticCore.put(&direct, id, at: infosAt + slot * 88)  // seq
            SyntheticCore.put(&direct, ts, at: infosAt + slot * 88 + 8)
            SyntheticCore.put(&direct, length, at: infosAt + slot * 88 + 16)
        }
        func block(at position: Int, id: UInt64, _ text: [UInt8]) {
            SyntheticCore.put(&direct, id, at: dataAt + position)
            for (index, byte) in text.enumerated() { direct[dataAt + position + 8 + index] = byte }
        }
        let escaped: [UInt8] = Array("tab\there".utf8) + [0x01] + Array("bell".utf8) + [0xff]
        descriptor(id: 21, state: 2, begin: 72, next: 104, ts: 1_000_000_000, length: UInt16(escaped.count))
        block(at: 72, id: 21, escaped)
        descriptor(id: 22, state: 2, begin: 104, next: 152, ts: 123_456_000_999_000, length: 8)
        block(at: 104, id: 22, [])
        block(at: 0, id: 22, Array("wrapped!".utf8))
        descriptor(id: 23, state: 2, begin: 152, next: 152, ts: 2_500_000, length: 0)
        descriptor(id: 24, state: 0, begin: 152, next: 168, ts: 3_000_000_000, length: 4)
        block(at: 24, id: 24, Array("busy".utf8))
        descriptor(id: 25, state: 1, begin: 168, next: 200, ts: 99_999_999_999, length: 29)
        block(at: 40, id: 25, Array("Kernel panic - not syncing: x".utf8.prefix(24)))
        descriptor(id: 26, state: 2, stateID: 18, begin: 200, next: 216, ts: 5, length: 5)

        var core = SyntheticCore()
        core.notes = [
            SyntheticCore.prstatus(pid: 1, rip: 0xffff_ffff_8100_1234, rsp: 0xffff_c900_0000_0f00),
            SyntheticCore.prstatus(pid: 0, rip: 0xffff_ffff_8100_5678, rsp: 0xffff_c900_0000_1f00),
            SyntheticCore.vmcoreinfo(vmcoreinfo),
        ]
        core.segments = [
            .init(virtualAddress: textBase, physicalAddress: textPhysical, data: text),
            .init(virtualAddress: directBase, physicalAddress: directPhysical, data: direct),
        ]
        return core
    }
}
