/// Why an ELF core file (a vmcore) cannot be read: which file, which offset, what was expected.
public struct ELFCoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file being read.
    public var path: String
    /// What is wrong with it.
    public var problem: Problem

    public init(path: String, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// The ways an ELF core can be malformed.
    public enum Problem: Equatable, Sendable {
        /// The file ends before the `needed` bytes of `what` (starting at `offset`).
        case truncated(what: String, offset: UInt64, needed: UInt64, fileSize: UInt64)
        /// The first four bytes are not `\x7fELF`.
        case badMagic([UInt8])
        /// `EI_CLASS` is not `ELFCLASS64` (2).
        case unsupportedClass(UInt8)
        /// `EI_DATA` is not `ELFDATA2LSB` (1).
        case unsupportedByteOrder(UInt8)
        /// `EI_VERSION` / `e_version` is not `EV_CURRENT` (1).
        case unsupportedVersion(UInt32)
        /// `e_type` is not `ET_CORE` (4).
        case notACore(type: UInt16)
        /// `e_machine` is not `EM_X86_64` (62).
        case unsupportedMachine(UInt16)
        /// `e_phentsize` is not 56.
        case badProgramHeaderSize(UInt16)
        /// `e_phnum` is zero or larger than any real vmcore has.
        case absurdProgramHeaderCount(UInt64)
        /// A program header's `p_offset + p_filesz` (or `p_vaddr + p_memsz`) does not fit in 64 bits.
        case segmentOverflow(index: Int)
        /// A program header's `p_filesz` is larger than its `p_memsz`.
        case fileSizeExceedsMemorySize(index: Int, fileSize: UInt64, memorySize: UInt64)
        /// Two segments claim the same bytes of the file.
        case overlappingSegments(first: Int, second: Int, firstRange: Range<UInt64>, secondRange: Range<UInt64>)
        /// No `PT_NOTE` program header.
        case noNoteSegment
        /// A PT_NOTE segment larger than any real vmcore's notes.
        case absurdNoteSegment(index: Int, size: UInt64)
        /// A PT_LOAD's physical range ends beyond what x86_64 can address (2^52).
        case physicalAddressBeyondLimit(index: Int, physicalAddress: UInt64, memorySize: UInt64)
        /// The page bitmap the PT_LOADs' frames need is out of proportion to the file.
        case unjustifiedBitmap(index: Int, endPfn: UInt64, fileSize: UInt64)
        /// A note's header, name or descriptor runs past the end of its `PT_NOTE` segment.
        case noteRunsPastSegment(segment: Int, noteOffset: UInt64, noteEnd: UInt64, segmentEnd: UInt64)
        /// A `CORE`/`NT_PRSTATUS` note is too short for the x86_64 `elf_prstatus`.
        case shortPRStatus(noteOffset: UInt64, size: Int, expected: Int)
        /// There is no `VMCOREINFO` note.
        case noVMCoreInfo
    }

    public var description: String {
        "\(path): " + problem.description
    }
}

extension ELFCoreError.Problem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .truncated(let what, let offset, let needed, let fileSize):
            return "truncated: \(what) needs bytes \(hex(offset))..<\(hex(offset &+ needed)) but the file ends at "
                + "\(hex(fileSize)) (\(fileSize) bytes)"
        case .badMagic(let bytes):
            let shown = bytes.map {
                String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16)
            }
            return "not an ELF file: magic is \(shown.joined(separator: " ")), expected 7f 45 4c 46"
        case .unsupportedClass(let value):
            return "unsupported ELF class \(value) at offset 4, expected 2 (ELFCLASS64)"
        case .unsupportedByteOrder(let value):
            return "unsupported ELF byte order \(value) at offset 5, expected 1 (ELFDATA2LSB, little-endian)"
        case .unsupportedVersion(let value):
            return "unsupported ELF version \(value), expected 1 (EV_CURRENT)"
        case .notACore(let type):
            return "ELF type is \(type) at offset 16, expected 4 (ET_CORE)"
        case .unsupportedMachine(let machine):
            return "ELF machine is \(machine) at offset 18, expected 62 (EM_X86_64)"
        case .badProgramHeaderSize(let size):
            return "program header entry size (e_phentsize) is \(size), expected 56"
        case .absurdProgramHeaderCount(let count):
            return "absurd program header count \(count) (expected 1 to 65536)"
        case .segmentOverflow(let index):
            return "program header \(index): offset/address plus size overflows 64 bits"
        case .fileSizeExceedsMemorySize(let index, let fileSize, let memorySize):
            return "program header \(index): p_filesz \(hex(fileSize)) is larger than p_memsz \(hex(memorySize))"
        case .overlappingSegments(let first, let second, let a, let b):
            return "program headers \(first) and \(second) overlap in the file: "
                + "\(hex(a.lowerBound))..<\(hex(a.upperBound)) and \(hex(b.lowerBound))..<\(hex(b.upperBound))"
        case .noNoteSegment:
            return "no PT_NOTE program header: not a vmcore"
        case .absurdNoteSegment(let index, let size):
            return "PT_NOTE segment \(index): p_filesz \(hex(size)) is larger than any vmcore's notes "
                + "(at most \(hex(ELFCore.maximumNoteSegmentSize)))"
        case .physicalAddressBeyondLimit(let index, let address, let size):
            return "program header \(index): PT_LOAD p_paddr \(hex(address)) + p_memsz \(hex(size)) ends beyond "
                + "\(hex(ELFCore.physicalAddressLimit)), the x86_64 physical address limit"
        case .unjustifiedBitmap(let index, let endPfn, let fileSize):
            return "program header \(index): PT_LOAD frames reach pfn \(hex(endPfn)), which needs a page bitmap of "
                + "\(endPfn / 8) bytes; a \(fileSize)-byte file cannot justify it"
        case .noteRunsPastSegment(let segment, let noteOffset, let noteEnd, let segmentEnd):
            return "note at file offset \(hex(noteOffset)) ends at \(hex(noteEnd)), past the end of PT_NOTE "
                + "segment \(segment) at \(hex(segmentEnd))"
        case .shortPRStatus(let noteOffset, let size, let expected):
            return "NT_PRSTATUS note at file offset \(hex(noteOffset)) has \(size) bytes, expected \(expected)"
        case .noVMCoreInfo:
            return "no VMCOREINFO note"
        }
    }
}
