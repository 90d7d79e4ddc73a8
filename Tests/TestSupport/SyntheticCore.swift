import SystemCalls
import VMCore

#if canImport(Glibc)
import Glibc
#endif

/// Builds ELF64 x86_64 core files byte by byte, the way /proc/vmcore lays them out, for tests.
public struct SyntheticCore {
    public struct Segment {
        public var virtualAddress: UInt64
        public var physicalAddress: UInt64
        public var data: [UInt8]
        public var extraMemory: UInt64 = 0  // p_memsz - p_filesz

        public init(virtualAddress: UInt64, physicalAddress: UInt64, data: [UInt8], extraMemory: UInt64 = 0) {
            self.virtualAddress = virtualAddress
            self.physicalAddress = physicalAddress
            self.data = data
            self.extraMemory = extraMemory
        }
    }

    public var notes: [ELFNote] = []
    public var segments: [Segment] = []

    public init(notes: [ELFNote] = [], segments: [Segment] = []) {
        self.notes = notes
        self.segments = segments
    }

    /// The direct-map base the synthetic cores use.
    public static let pageOffset: UInt64 = 0xffff_8880_0000_0000

    /// An `elf_prstatus` descriptor with `pid` and rip/rsp set.
    public static func prstatus(pid: Int32, rip: UInt64, rsp: UInt64) -> ELFNote {
        var bytes = [UInt8](repeating: 0, count: PRStatus.size)
        put(&bytes, UInt32(bitPattern: pid), at: 32)
        put(&bytes, rip, at: PRStatus.registersOffset + 8 * PRStatus.RegisterName.rip.rawValue)
        put(&bytes, rsp, at: PRStatus.registersOffset + 8 * PRStatus.RegisterName.rsp.rawValue)
        return ELFNote(name: "CORE", type: 1, descriptor: bytes)
    }

    /// A VMCOREINFO note from its text.
    public static func vmcoreinfo(_ text: String) -> ELFNote {
        ELFNote(name: "VMCOREINFO", type: 0, descriptor: Array(text.utf8))
    }

    /// The file bytes: header, program headers (PT_NOTE first), notes, then segment data in order.
    public func bytes(noteSlack: Int = 0) -> [UInt8] {
        let noteBytes = notes.flatMap { $0.encoded() } + [UInt8](repeating: 0, count: noteSlack)
        let count = 1 + segments.count
        let offset = UInt64(64 + 56 * count)
        var headers = [
            ProgramHeader(
                type: 4, offset: offset, fileSize: UInt64(noteBytes.count),
                memorySize: UInt64(noteBytes.count))
        ]
        headers += loadHeaders(from: offset + UInt64(noteBytes.count))
        var file = ELFHeader(type: 4, machine: 62, flags: 0, programHeaderOffset: 64, programHeaderCount: count)
            .encoded()
        for header in headers { file += header.encoded() }
        file += noteBytes
        for segment in segments { file += segment.data }
        return file
    }

    /// The segments' PT_LOAD program headers, their data laid out one after the other from file offset `offset`.
    public func loadHeaders(from offset: UInt64) -> [ProgramHeader] {
        var offset = offset
        return segments.map { segment in
            defer { offset += UInt64(segment.data.count) }
            return ProgramHeader(
                type: 1, flags: 7, offset: offset, virtualAddress: segment.virtualAddress,
                physicalAddress: segment.physicalAddress, fileSize: UInt64(segment.data.count),
                memorySize: UInt64(segment.data.count) + segment.extraMemory)
        }
    }

    public static func put<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T, at offset: Int) {
        for index in 0..<MemoryLayout<T>.size {
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
        }
    }
}
