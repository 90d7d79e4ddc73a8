import CZlib
import CZstd
import DumpFormat
import SystemCalls

/// Reads a kdump-compressed file (ours or makedumpfile's): header, both bitmaps, and any dumped page by frame number.
public struct KdumpReader {
    /// A file that is not a kdump-compressed dump this reader understands.
    public struct FormatError: Error, CustomStringConvertible, Equatable {
        /// The file.
        public var path: String
        /// What is wrong, with the offset.
        public var problem: String
        public var description: String { "\(path): \(problem)" }
    }

    /// The file.
    public let file: FileDescriptor
    /// The file's path, for messages.
    public let path: String
    /// `block_size`.
    public let blockSize: Int
    /// `disk_dump_header.status`.
    public let status: UInt32
    /// `kdump_sub_header.dump_level`.
    public let dumpLevel: Int
    /// Frames present in the dumped machine (first bitmap).
    public let present: PageBitmap
    /// Frames stored in the file (second bitmap).
    public let dumped: PageBitmap
    /// The VMCOREINFO text stored in the sub header.
    public let vmcoreInfo: VMCoreInfo?
    /// The `NT_PRSTATUS` notes of the ELF notes the sub header points at, one per CPU.
    public let cpus: [PRStatus]
    /// `phys_base`: where the kernel image's first byte is in physical memory, less its link offset.
    public let physBase: UInt64
    private let recent = RecentPages()
    private let descriptorOffset: UInt64
    /// Index of the first dumped frame of each 64-frame word, to find a frame's `page_desc` quickly.
    private let rank: [UInt64]

    /// Opens `path` if it is a regular file (`FileDescriptor.openRegularFile`) and reads its headers and bitmaps.
    public static func open(_ path: String) throws -> KdumpReader {
        let fd = try FileDescriptor.openRegularFile(path)
        do { return try KdumpReader(file: fd, path: path) } catch {
            try? fd.close()
            throw error
        }
    }

    init(file: FileDescriptor, path: String) throws {
        self.file = file
        self.path = path
        let head = try file.readBytes(count: KdumpHeader.size, atOffset: 0)
        func fail(_ problem: String) -> FormatError { FormatError(path: path, problem: problem) }
        guard head.count == KdumpHeader.size else { throw fail("shorter than a disk_dump_header (464 bytes)") }
        guard Array(head[0..<8]) == KdumpHeader.signature else {
            throw fail("no KDUMP signature at offset 0 (found \(head[0..<8].map { hex($0) }.joined(separator: " ")))")
        }
        let fileSize = try file.status().size
        status = head.littleEndian(UInt32.self, at: 424)!
        blockSize = Int(head.littleEndian(Int32.self, at: 428)!)
        let subBlocks = Int(head.littleEndian(Int32.self, at: 432)!)
        let bitmapBlocks = Int(head.littleEndian(UInt32.self, at: 436)!)
        guard blockSize == 4096 else { throw fail("block_size \(blockSize) at offset 428, expected 4096") }
        // Every block the header counts must be in the file: a count from a corrupt header sizes no allocation.
        let fileBlocks = Int(fileSize / UInt64(blockSize))
        guard subBlocks >= 1, subBlocks <= fileBlocks else {
            throw fail("sub_hdr_size \(subBlocks) at offset 432 is not 1 to \(fileBlocks) (the file's blocks)")
        }
        guard bitmapBlocks <= fileBlocks - subBlocks else {
            throw fail(
                "bitmap_blocks \(bitmapBlocks) at offset 436 is more than "
                    + "\(fileBlocks - subBlocks) (the file's blocks after the sub header)")
        }
        let sub = try file.readBytes(count: KdumpHeader.subHeaderSize, atOffset: UInt64(blockSize))
        guard sub.count == KdumpHeader.subHeaderSize else { throw fail("truncated kdump_sub_header at \(blockSize)") }
        dumpLevel = Int(sub.littleEndian(Int32.self, at: 8)!)
        let maxMapnr = sub.littleEndian(UInt64.self, at: 96)!
        guard maxMapnr <= UInt64(bitmapBlocks * blockSize / 2) * 8 else {
            throw fail(
                "max_mapnr \(maxMapnr) at offset \(blockSize + 96) needs more than the "
                    + "\(bitmapBlocks * blockSize / 2)-byte bitmaps bitmap_blocks \(bitmapBlocks) gives")
        }
        let infoOffset = sub.littleEndian(UInt64.self, at: 32)!
        let infoSize = sub.littleEndian(UInt64.self, at: 40)!
        vmcoreInfo =
            infoSize > 0 && infoSize < 1 << 20
            ? VMCoreInfo(try file.readBytes(count: Int(infoSize), atOffset: infoOffset)) : nil
        physBase = sub.littleEndian(UInt64.self, at: 0)!
        let noteOffset = sub.littleEndian(UInt64.self, at: 48)!
        let noteSize = sub.littleEndian(UInt64.self, at: 56)!
        if noteSize > 0 && noteSize < 1 << 24 {
            let bytes = try file.readBytes(count: Int(noteSize), atOffset: noteOffset)
            guard bytes.count == Int(noteSize) else { throw fail("truncated notes at offset \(noteOffset)") }
            let notes = try ELFNote.parseAll(bytes, segment: 0, base: noteOffset, path: path)
            var found: [PRStatus] = []
            for note in notes where note.name == "CORE" && note.type == ELFNote.typePRStatus {
                found.append(try PRStatus(note: note, path: path))
            }
            cpus = found
        } else {
            cpus = []
        }
        let bitmapSize = bitmapBlocks * blockSize / 2
        let first = UInt64((1 + subBlocks) * blockSize)
        let bitmaps = try file.readBytes(count: 2 * bitmapSize, atOffset: first)
        guard bitmaps.count == 2 * bitmapSize else { throw fail("truncated bitmaps at offset \(first)") }
        present = PageBitmap(bytes: Array(bitmaps[0..<bitmapSize]), count: maxMapnr)
        dumped = PageBitmap(bytes: Array(bitmaps[bitmapSize...]), count: maxMapnr)
        descriptorOffset = first + UInt64(2 * bitmapSize)
        var ranks: [UInt64] = []
        ranks.reserveCapacity(dumped.words.count)
        var total: UInt64 = 0
        for word in dumped.words {
            ranks.append(total)
            total += UInt64(word.nonzeroBitCount)
        }
        rank = ranks
    }

    /// The bytes of frame `pfn`, or nil when the file does not hold it (excluded or absent).
    public func page(_ pfn: UInt64) throws -> [UInt8]? {
        guard dumped.contains(pfn) else { return nil }
        let word = dumped.words[Int(pfn >> 6)]
        let index = rank[Int(pfn >> 6)] + UInt64((word & ((1 << (pfn & 63)) - 1)).nonzeroBitCount)
        let at = descriptorOffset + index * UInt64(KdumpHeader.pageDescriptorSize)
        let desc = try file.readBytes(count: KdumpHeader.pageDescriptorSize, atOffset: at)
        guard desc.count == KdumpHeader.pageDescriptorSize else {
            throw FormatError(path: path, problem: "truncated page_desc of pfn \(hex(pfn)) at offset \(at)")
        }
        let offset = desc.littleEndian(UInt64.self, at: 0)!
        let size = Int(desc.littleEndian(UInt32.self, at: 8)!)
        let flags = desc.littleEndian(UInt32.self, at: 12)!
        guard size <= 2 * blockSize else {
            throw FormatError(
                path: path,
                problem: "page_desc of pfn \(hex(pfn)) at offset \(at) says \(size) bytes, "
                    + "more than a stored page can take (\(2 * blockSize))")
        }
        let stored = try file.readBytes(count: size, atOffset: offset)
        guard stored.count == size else {
            throw FormatError(
                path: path, problem: "page data of pfn \(hex(pfn)) (\(size) bytes at \(offset)) truncated")
        }
        if flags & 0x3f == 0 {
            guard size == blockSize else {
                throw FormatError(
                    path: path, problem: "raw page of pfn \(hex(pfn)) has \(size) bytes, not \(blockSize)")
            }
            return stored
        }
        var page = [UInt8](repeating: 0, count: blockSize)
        var produced = 0
        // Sound because `page` holds `blockSize` bytes and `stored` the `size` read; the libraries get those sizes.
        if flags & PageCompression.zstd.flag != 0 {
            let result = unsafe page.withUnsafeMutableBytes { out in
                unsafe stored.withUnsafeBytes {
                    unsafe ZSTD_decompress(out.baseAddress, blockSize, $0.baseAddress, size)
                }
            }
            produced = ZSTD_isError(result) != 0 ? -1 : result
        } else if flags & PageCompression.zlib.flag != 0 {
            var length = uLongf(blockSize)
            let result = unsafe page.withUnsafeMutableBytes { out in
                unsafe stored.withUnsafeBytes {
                    unsafe uncompress(
                        out.baseAddress!.assumingMemoryBound(to: Bytef.self), &length,
                        $0.baseAddress!.assumingMemoryBound(to: Bytef.self), uLong(size))
                }
            }
            produced = result == Z_OK ? Int(length) : -1
        } else {
            throw FormatError(
                path: path,
                problem: "page of pfn \(hex(pfn)) uses compression flags \(hex(flags)) "
                    + "this reader does not decode (lzo or snappy)")
        }
        guard produced == blockSize else {
            throw FormatError(
                path: path,
                problem: "page of pfn \(hex(pfn)) at offset \(offset) does not decompress to "
                    + "\(blockSize) bytes")
        }
        return page
    }

    /// Closes the file.
    public func close() throws { try file.close() }
}

extension KdumpReader: KernelMemory {
    /// The kernel image mapping (`__START_KERNEL_map` up to the modules, `KERNEL_IMAGE_SIZE` of 1 GiB).
    static let imageMapping: Range<UInt64> = ProgramHeader.kernelTextMapping..<0xffff_ffff_c000_0000

    /// Reads physical memory frame by frame; a frame the file does not hold (left out, or absent) throws.
    public func readPhysical(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        try checkReadSize(address, count, what)
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var current = address
        while result.count < count {
            let pfn = current / UInt64(blockSize)
            let offset = Int(current % UInt64(blockSize))
            let length = min(count - result.count, blockSize - offset)
            guard let page = try cachedPage(pfn) else {
                throw FormatError(
                    path: path,
                    problem: "physical address \(hex(current)) (\(what)) is in frame "
                        + "\(hex(pfn)), which the dump does not hold (left out by its dump level, or not in the machine)"
                )
            }
            result += page[offset..<(offset + length)]
            current &+= UInt64(length)
        }
        return result
    }

    /// Reads kernel virtual memory: the kernel image mapping through `phys_base`, every other address through
    /// the crashed kernel's page tables.
    public func readVirtual(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        try checkReadSize(address, count, what)
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var current = address
        while result.count < count {
            let length = Int(min(UInt64(count - result.count), ((current | 0xfff) &+ 1) &- current))
            let physical: UInt64
            if Self.imageMapping.contains(current) {
                physical = (current &- Self.imageMapping.lowerBound) &+ physBase  // phys_base can be negative
            } else if let translated = try translateThroughPageTables(current) {
                physical = translated
            } else {
                throw UnmappedAddressError(address: current, isVirtual: true, what: what)
            }
            result += try readPhysical(physical, count: length, what: what)
            current &+= UInt64(length)
        }
        return result
    }

    /// The same as `readVirtual`: a kdump file has no mappings of its own, so every address is translated.
    public func readKernelVirtual(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        try readVirtual(address, count: count, what: what)
    }

    /// The root page table must be in the kernel image mapping: reading it through the page tables would recurse.
    public func readPageTableRoot(_ address: UInt64, count: Int, what: String) throws -> [UInt8] {
        guard Self.imageMapping.contains(address),
            Self.imageMapping.contains(address &+ UInt64(max(count, 1)) &- 1)
        else {
            throw UnmappedAddressError(
                address: address, isVirtual: true, what: what + ", outside the kernel image mapping")
        }
        return try readPhysical((address &- Self.imageMapping.lowerBound) &+ physBase, count: count, what: what)
    }

    /// Refuses a read larger than the frames the file holds, before anything is allocated for it.
    private func checkReadSize(_ address: UInt64, _ count: Int, _ what: String) throws {
        let limit = ((rank.last ?? 0) &+ 64) &* UInt64(blockSize)
        guard count >= 0, UInt64(count) <= max(limit, 1 << 20) else {
            throw OversizedReadError(address: address, count: count, limit: limit, what: what)
        }
    }

    private func cachedPage(_ pfn: UInt64) throws -> [UInt8]? {
        if let page = recent.page(pfn) { return page }
        guard let page = try page(pfn) else { return nil }
        recent.insert(pfn, page)
        return page
    }
}

/// The last few frames a reader decoded (page tables and symbol tables are read a few bytes at a time).
final class RecentPages {
    private var entries: [(pfn: UInt64, bytes: [UInt8])] = []
    private var next = 0
    private let capacity = 16

    func page(_ pfn: UInt64) -> [UInt8]? { entries.first { $0.pfn == pfn }?.bytes }

    func insert(_ pfn: UInt64, _ bytes: [UInt8]) {
        if entries.count < capacity {
            entries.append((pfn, bytes))
        } else {
            entries[next] = (pfn, bytes)
            next = (next + 1) % capacity
        }
    }
}
