/// One ELF note (`Elf64_Nhdr` with its name and descriptor).
public struct ELFNote: Equatable, Sendable {
    /// The owner name without its terminating NUL (`CORE`, `VMCOREINFO`).
    public var name: String
    /// `n_type` (1 = `NT_PRSTATUS` for `CORE`; 0 for `VMCOREINFO`).
    public var type: UInt32
    /// The descriptor bytes.
    public var descriptor: [UInt8]
    /// Where the note header starts in the file (for error messages).
    public var fileOffset: UInt64

    /// `NT_PRSTATUS`.
    public static let typePRStatus: UInt32 = 1

    public init(name: String, type: UInt32, descriptor: [UInt8], fileOffset: UInt64 = 0) {
        self.name = name
        self.type = type
        self.descriptor = descriptor
        self.fileOffset = fileOffset
    }

    /// The note as it appears in a file: header, NUL-terminated name and descriptor, each padded to 4 bytes.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        let nameBytes = Array(name.utf8) + [0]
        bytes.appendLittleEndian(UInt32(nameBytes.count))
        bytes.appendLittleEndian(UInt32(descriptor.count))
        bytes.appendLittleEndian(type)
        bytes += nameBytes
        bytes += [UInt8](repeating: 0, count: padding(nameBytes.count))
        bytes += descriptor
        bytes += [UInt8](repeating: 0, count: padding(descriptor.count))
        return bytes
    }

    /// Parses every note in `bytes`, the content of PT_NOTE program header `segment` at file offset `base`.
    /// Zero bytes after the last note (a zero header) are padding, as /proc/vmcore leaves them.
    static func parseAll(_ bytes: [UInt8], segment: Int, base: UInt64, path: String) throws(ELFCoreError) -> [ELFNote] {
        var notes: [ELFNote] = []
        var position = 0
        let end = UInt64(bytes.count)
        // Where the trailing zeros (padding after the last note) begin, found once: checking "all zero from here"
        // at every empty note header took a scan to the end each, quadratic in a segment of zeros with one stray
        // byte at its end (a 64 MiB one would never finish).
        let zerosFrom = (bytes.lastIndex { $0 != 0 } ?? -1) + 1
        while position < bytes.count {
            let noteOffset = base + UInt64(position)
            guard let nameSize = bytes.littleEndian(UInt32.self, at: position),
                let descSize = bytes.littleEndian(UInt32.self, at: position + 4),
                let type = bytes.littleEndian(UInt32.self, at: position + 8)
            else {
                if position >= zerosFrom { break }
                throw ELFCoreError(
                    path: path,
                    .noteRunsPastSegment(
                        segment: segment, noteOffset: noteOffset, noteEnd: noteOffset + 12, segmentEnd: base + end))
            }
            if nameSize == 0 && descSize == 0 && type == 0 && position >= zerosFrom { break }
            let nameStart = UInt64(position) + 12
            let descStart = nameStart + UInt64(nameSize) + UInt64(padding(Int(nameSize)))
            let noteEnd = descStart + UInt64(descSize)
            guard noteEnd <= end else {
                throw ELFCoreError(
                    path: path,
                    .noteRunsPastSegment(
                        segment: segment, noteOffset: noteOffset, noteEnd: base + noteEnd, segmentEnd: base + end))
            }
            let rawName = bytes[Int(nameStart)..<Int(nameStart) + Int(nameSize)]
            let name = String(decoding: rawName.prefix { $0 != 0 }, as: UTF8.self)
            let descriptor = Array(bytes[Int(descStart)..<Int(noteEnd)])
            notes.append(ELFNote(name: name, type: type, descriptor: descriptor, fileOffset: noteOffset))
            position = Int(min(end, noteEnd + UInt64(padding(Int(descSize)))))
        }
        return notes
    }
}

/// Bytes needed to pad `count` up to a multiple of 4.
@inline(__always)
func padding(_ count: Int) -> Int { (4 - count % 4) % 4 }
