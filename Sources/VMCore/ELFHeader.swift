/// The fields of an ELF64 file header (`Elf64_Ehdr`) that a core file uses.
public struct ELFHeader: Equatable, Sendable {
    /// `e_type` (4 = `ET_CORE`).
    public var type: UInt16
    /// `e_machine` (62 = `EM_X86_64`).
    public var machine: UInt16
    /// `e_flags` (bit 0 = `DUMP_ELF_INCOMPLETE` as makedumpfile and crash use it).
    public var flags: UInt32
    /// `e_phoff`: file offset of the program header table.
    public var programHeaderOffset: UInt64
    /// Number of program headers (after `PN_XNUM` extended numbering).
    public var programHeaderCount: Int
    /// `e_shoff`: the section header table, written only for extended numbering (section header 0 holds the
    /// program header count when it does not fit `e_phnum`); 0 otherwise.
    public var sectionHeaderOffset: UInt64

    /// Size of `Elf64_Ehdr`.
    public static let size = 64
    /// Size of `Elf64_Phdr`.
    public static let programHeaderSize = 56
    /// `ET_CORE`.
    public static let typeCore: UInt16 = 4
    /// `EM_X86_64`.
    public static let machineX86_64: UInt16 = 62
    /// The `e_flags` bit marking a dump whose writer did not finish (`DUMP_ELF_INCOMPLETE`).
    public static let flagIncomplete: UInt32 = 0x1
    /// File offset of `e_flags`.
    public static let flagsOffset: UInt64 = 48
    /// `PN_XNUM`: the `e_phnum` of a file with this many program headers or more, whose real count is then
    /// section header 0's `sh_info`.
    public static let extendedNumbering: UInt16 = 0xffff
    /// Size of `Elf64_Shdr`.
    public static let sectionHeaderSize = 64

    public init(
        type: UInt16, machine: UInt16, flags: UInt32, programHeaderOffset: UInt64, programHeaderCount: Int,
        sectionHeaderOffset: UInt64 = 0
    ) {
        self.type = type
        self.machine = machine
        self.flags = flags
        self.programHeaderOffset = programHeaderOffset
        self.programHeaderCount = programHeaderCount
        self.sectionHeaderOffset = sectionHeaderOffset
    }

    /// Whether the count needs extended numbering.
    var usesExtendedNumbering: Bool { programHeaderCount >= Int(ELFHeader.extendedNumbering) }

    /// Section header 0 of a file with extended numbering: all zero (`SHT_NULL`) but `sh_info`, the real
    /// program header count.
    public static func extendedNumberingSection(programHeaderCount: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 44)
        bytes.appendLittleEndian(UInt32(truncatingIfNeeded: programHeaderCount))
        bytes += [UInt8](repeating: 0, count: sectionHeaderSize - bytes.count)
        return bytes
    }

    /// The 64 bytes of an ELF64 little-endian x86_64 header for this core: no section headers, or with extended
    /// numbering the one that holds the count at `sectionHeaderOffset`.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]  // magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT
        bytes += [UInt8](repeating: 0, count: 8)
        bytes.appendLittleEndian(type)
        bytes.appendLittleEndian(machine)
        bytes.appendLittleEndian(UInt32(1))  // e_version
        bytes.appendLittleEndian(UInt64(0))  // e_entry
        bytes.appendLittleEndian(programHeaderOffset)
        bytes.appendLittleEndian(usesExtendedNumbering ? sectionHeaderOffset : 0)  // e_shoff
        bytes.appendLittleEndian(flags)
        bytes.appendLittleEndian(UInt16(ELFHeader.size))
        bytes.appendLittleEndian(UInt16(ELFHeader.programHeaderSize))
        bytes.appendLittleEndian(usesExtendedNumbering ? ELFHeader.extendedNumbering : UInt16(programHeaderCount))
        bytes.appendLittleEndian(UInt16(usesExtendedNumbering ? ELFHeader.sectionHeaderSize : 0))  // e_shentsize
        bytes.appendLittleEndian(UInt16(usesExtendedNumbering ? 1 : 0))  // e_shnum
        bytes.appendLittleEndian(UInt16(0))  // e_shstrndx: SHN_UNDEF
        return bytes
    }
}

/// One ELF64 program header (`Elf64_Phdr`).
public struct ProgramHeader: Equatable, Sendable {
    /// `p_type`: 1 `PT_LOAD`, 4 `PT_NOTE`.
    public var type: UInt32
    /// `p_flags` (`PF_R` 4, `PF_W` 2, `PF_X` 1).
    public var flags: UInt32
    /// `p_offset`: where the segment's bytes start in the file.
    public var offset: UInt64
    /// `p_vaddr`: the kernel virtual address of the first byte.
    public var virtualAddress: UInt64
    /// `p_paddr`: the physical address of the first byte.
    public var physicalAddress: UInt64
    /// `p_filesz`: bytes present in the file.
    public var fileSize: UInt64
    /// `p_memsz`: bytes of memory the segment stands for (the rest past `fileSize` reads as zero).
    public var memorySize: UInt64
    /// `p_align`.
    public var align: UInt64

    /// `PT_LOAD`.
    public static let typeLoad: UInt32 = 1
    /// `PT_NOTE`.
    public static let typeNote: UInt32 = 4

    public init(
        type: UInt32, flags: UInt32 = 0, offset: UInt64, virtualAddress: UInt64 = 0, physicalAddress: UInt64 = 0,
        fileSize: UInt64, memorySize: UInt64, align: UInt64 = 0
    ) {
        self.type = type
        self.flags = flags
        self.offset = offset
        self.virtualAddress = virtualAddress
        self.physicalAddress = physicalAddress
        self.fileSize = fileSize
        self.memorySize = memorySize
        self.align = align
    }

    /// Decodes the 56 bytes at `offset` of `bytes` (the caller checked the bounds).
    init(decoding bytes: [UInt8], at base: Int) {
        type = bytes.littleEndian(UInt32.self, at: base)!
        flags = bytes.littleEndian(UInt32.self, at: base + 4)!
        offset = bytes.littleEndian(UInt64.self, at: base + 8)!
        virtualAddress = bytes.littleEndian(UInt64.self, at: base + 16)!
        physicalAddress = bytes.littleEndian(UInt64.self, at: base + 24)!
        fileSize = bytes.littleEndian(UInt64.self, at: base + 32)!
        memorySize = bytes.littleEndian(UInt64.self, at: base + 40)!
        align = bytes.littleEndian(UInt64.self, at: base + 48)!
    }

    /// The 56 encoded bytes.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ELFHeader.programHeaderSize)
        bytes.appendLittleEndian(type)
        bytes.appendLittleEndian(flags)
        bytes.appendLittleEndian(offset)
        bytes.appendLittleEndian(virtualAddress)
        bytes.appendLittleEndian(physicalAddress)
        bytes.appendLittleEndian(fileSize)
        bytes.appendLittleEndian(memorySize)
        bytes.appendLittleEndian(align)
        return bytes
    }

    /// The file bytes the segment occupies (ending at 2^64 - 1 when `p_offset + p_filesz` overflows).
    public var fileRange: Range<UInt64> { offset..<saturatingEnd(offset, fileSize) }
    /// The virtual addresses the segment stands for (ending at 2^64 - 1 when the end does not fit 64 bits).
    public var virtualRange: Range<UInt64> { virtualAddress..<saturatingEnd(virtualAddress, memorySize) }
    /// The physical addresses the segment stands for (ending at 2^64 - 1 when the end does not fit 64 bits).
    public var physicalRange: Range<UInt64> { physicalAddress..<saturatingEnd(physicalAddress, memorySize) }

    /// The start of x86_64's kernel text mapping (`__START_KERNEL_map`): a PT_LOAD at or above it maps the kernel
    /// image; below it (from `PAGE_OFFSET`) are the direct-map segments.
    public static let kernelTextMapping: UInt64 = 0xffff_ffff_8000_0000
    /// Whether the segment is the kernel image's text mapping rather than a direct-map one.
    public var mapsKernelText: Bool { virtualAddress >= ProgramHeader.kernelTextMapping }
    /// The page frames its file data touches (a partial page at either edge counts).
    public func frames(pageSize: UInt64) -> Range<UInt64> {
        let end = saturatingEnd(physicalAddress, fileSize)
        return (physicalAddress / pageSize)..<(end / pageSize + (end % pageSize == 0 ? 0 : 1))
    }
}

/// `start + size`, or `UInt64.max` when the sum does not fit: a range built from header values never traps.
@inline(__always)
func saturatingEnd(_ start: UInt64, _ size: UInt64) -> UInt64 {
    let (end, overflow) = start.addingReportingOverflow(size)
    return overflow ? .max : end
}
