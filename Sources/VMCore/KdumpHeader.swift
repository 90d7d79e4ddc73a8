/// The fixed parts of a kdump-compressed file (makedumpfile's `diskdump_mod.h`, header version 6, x86_64):
/// `disk_dump_header` in block 0, `kdump_sub_header` and the ELF notes from block 1, then the two bitmaps.
public struct KdumpHeader: Sendable {
    /// `KDUMP   `.
    public static let signature: [UInt8] = Array("KDUMP   ".utf8)
    /// Size of `disk_dump_header` on x86_64.
    public static let size = 464
    /// Size of `kdump_sub_header` (version 6) on x86_64.
    public static let subHeaderSize = 104
    /// Size of one `page_desc`.
    public static let pageDescriptorSize = 24
    /// `DUMP_DH_COMPRESSED_INCOMPLETE`: the writer did not finish.
    public static let incompleteFlag: UInt32 = 0x8
    /// File offset of `disk_dump_header.status`.
    public static let statusOffset: UInt64 = 424

    /// `utsname`: sysname, nodename, release, version, machine, domainname (65 bytes each).
    public var utsname: [UInt8]
    /// Seconds of the crash (`timestamp.tv_sec`).
    public var timestamp: Int64
    /// `status`: the compression flag (and incomplete while writing).
    public var status: UInt32
    /// `block_size` (the page size).
    public var blockSize: Int
    /// `max_mapnr`: one past the highest page frame.
    public var maxMapnr: UInt64
    /// `nr_cpus`.
    public var cpuCount: Int
    /// `phys_base` of the sub header.
    public var physBase: UInt64
    /// `dump_level` of the sub header.
    public var dumpLevel: Int
    /// The ELF notes, copied whole; `noteOffset` is where they go.
    public var noteSize: Int
    /// Offset and size of the VMCOREINFO descriptor inside the notes, when present.
    public var vmcoreInfoInNotes: (offset: Int, size: Int)?

    /// Where the notes start: right after the sub header.
    public var noteOffset: UInt64 { UInt64(blockSize + KdumpHeader.subHeaderSize) }
    /// Blocks taken by the sub header and the notes (`sub_hdr_size`).
    public var subHeaderBlocks: Int { (KdumpHeader.subHeaderSize + noteSize + blockSize - 1) / blockSize }
    /// Bytes of one bitmap (whole blocks).
    public var bitmapSize: Int { Int((maxMapnr + 7) / 8 + UInt64(blockSize) - 1) / blockSize * blockSize }
    /// `bitmap_blocks`: both bitmaps, in blocks.
    public var bitmapBlocks: Int { 2 * bitmapSize / blockSize }
    /// File offset of the first bitmap (frames present).
    public var firstBitmapOffset: UInt64 { UInt64((1 + subHeaderBlocks) * blockSize) }
    /// File offset of the second bitmap (frames dumped).
    public var secondBitmapOffset: UInt64 { firstBitmapOffset + UInt64(bitmapSize) }
    /// File offset of the first `page_desc`.
    public var descriptorOffset: UInt64 { firstBitmapOffset + UInt64(2 * bitmapSize) }

    /// The 464 bytes of `disk_dump_header`.
    public func encoded() -> [UInt8] {
        var bytes = KdumpHeader.signature
        bytes.appendLittleEndian(Int32(6))  // header_version
        bytes += utsname.prefix(390) + [UInt8](repeating: 0, count: max(0, 390 - utsname.count))
        bytes += [UInt8](repeating: 0, count: 6)  // align the timeval to 8 (offset 408)
        bytes.appendLittleEndian(timestamp)
        bytes.appendLittleEndian(Int64(0))  // tv_usec
        bytes.appendLittleEndian(status)
        bytes.appendLittleEndian(Int32(blockSize))
        bytes.appendLittleEndian(Int32(subHeaderBlocks))
        bytes.appendLittleEndian(UInt32(bitmapBlocks))
        bytes.appendLittleEndian(UInt32(min(maxMapnr, UInt64(UInt32.max))))
        bytes.appendLittleEndian(UInt32(0))  // total_ram_blocks
        bytes.appendLittleEndian(UInt32(0))  // device_blocks
        bytes.appendLittleEndian(UInt32(0))  // written_blocks
        bytes.appendLittleEndian(UInt32(0))  // current_cpu
        bytes.appendLittleEndian(Int32(cpuCount))
        precondition(bytes.count == KdumpHeader.size)
        return bytes
    }

    /// The 104 bytes of `kdump_sub_header`.
    public func subHeaderEncoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(physBase)
        bytes.appendLittleEndian(Int32(dumpLevel))
        bytes.appendLittleEndian(Int32(0))  // split
        bytes.appendLittleEndian(UInt64(0))  // start_pfn
        bytes.appendLittleEndian(UInt64(0))  // end_pfn
        bytes.appendLittleEndian(vmcoreInfoInNotes.map { noteOffset + UInt64($0.offset) } ?? 0)
        bytes.appendLittleEndian(UInt64(vmcoreInfoInNotes?.size ?? 0))
        bytes.appendLittleEndian(noteSize > 0 ? noteOffset : 0)
        bytes.appendLittleEndian(UInt64(noteSize))
        bytes.appendLittleEndian(UInt64(0))  // offset_eraseinfo
        bytes.appendLittleEndian(UInt64(0))  // size_eraseinfo
        bytes.appendLittleEndian(UInt64(0))  // start_pfn_64
        bytes.appendLittleEndian(UInt64(0))  // end_pfn_64
        bytes.appendLittleEndian(maxMapnr)
        precondition(bytes.count == KdumpHeader.subHeaderSize)
        return bytes
    }
}
