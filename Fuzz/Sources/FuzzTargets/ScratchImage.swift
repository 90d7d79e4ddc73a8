import SystemCalls
import VMCore

/// A scratch file holding a fixed image (a synthetic core), built and written once per process. Each execution
/// writes its input over parts of the image and sets the file's size; the next one first puts back the image's
/// bytes where the last one wrote. Building and writing a whole core per execution (a 256 KiB one for the page
/// walk) cost far more than the code under test; the readers still open the file and read it as before.
/// Unchecked: libFuzzer runs the target on one thread, the only one that touches it.
final class ScratchImage: @unchecked Sendable {
    /// The file's path (in `FuzzInput.directory`).
    let path: String
    /// The bytes the file holds where no execution wrote.
    let image: [UInt8]
    private let file: FileDescriptor
    /// The file's size now.
    private var size: Int
    /// Where the file differs from `image` now (ranges within the image).
    private var changed: [Range<Int>] = []

    init(_ name: String, image: [UInt8]) {
        self.image = image
        path = FuzzInput.file(name, image)
        size = image.count
        do {
            file = try FileDescriptor.open(path, [.writeOnly])
        } catch {
            fatalError("cannot open the scratch file \(path): \(error)")
        }
    }

    /// Makes the file the image with `patches` written over it (past its end too), `size` bytes long (the image's
    /// own bytes fill any gap below the image's end); returns the path.
    func update(_ patches: [(offset: Int, bytes: [UInt8])], size newSize: Int) -> String {
        do {
            for range in changed {
                try image.withUnsafeBytes {
                    try file.writeAll(UnsafeRawBufferPointer(rebasing: $0[range]), atOffset: UInt64(range.lowerBound))
                }
                size = max(size, range.upperBound)
            }
            changed = []
            for (offset, bytes) in patches where !bytes.isEmpty {
                try bytes.withUnsafeBytes { try file.writeAll($0, atOffset: UInt64(offset)) }
                size = max(size, offset + bytes.count)
                let inImage = offset..<min(offset + bytes.count, image.count)
                if !inImage.isEmpty { changed.append(inImage) }
            }
            if size != newSize {
                try file.truncate(to: UInt64(newSize))
                size = newSize
            }
            if newSize < image.count { changed.append(newSize..<image.count) }
        } catch {
            fatalError("cannot write the scratch file \(path): \(error)")
        }
        return path
    }
}

extension SyntheticCore {
    /// The core file with its notes after the segment data (the layout `bytes()` uses puts them first), and the
    /// offsets of the PT_NOTE program header and of the notes: a target that varies only the notes rewrites those
    /// two and leaves the memory in place. `notes` are not written.
    func bytesWithNotesLast() -> (bytes: [UInt8], noteHeaderOffset: Int, notesOffset: Int) {
        let count = 1 + segments.count
        let loads = loadHeaders(from: UInt64(64 + 56 * count))
        let offset = UInt64(64 + 56 * count) + segments.reduce(0) { $0 + UInt64($1.data.count) }
        var file = ELFHeader(type: 4, machine: 62, flags: 0, programHeaderOffset: 64, programHeaderCount: count)
            .encoded()
        file += Self.noteHeader(at: offset, size: 0)
        for header in loads { file += header.encoded() }
        for segment in segments { file += segment.data }
        return (file, 64, Int(offset))
    }

    /// The PT_NOTE program header for notes of `size` bytes at file offset `offset`.
    static func noteHeader(at offset: UInt64, size: Int) -> [UInt8] {
        ProgramHeader(type: 4, offset: offset, fileSize: UInt64(size), memorySize: UInt64(size)).encoded()
    }
}
