import SystemCalls

/// An open ELF64 x86_64 core file (a saved vmcore or /proc/vmcore): headers, notes, CPUs and VMCOREINFO.
///
/// Opening checks the structure (magic, class, byte order, program headers, notes) and reads the notes;
/// memory is read on demand. Call `close()` when done.
public struct ELFCore: Sendable {
    /// The file's path, for messages.
    public let path: String
    /// The open file.
    public let file: FileDescriptor
    /// The file's size in bytes (fstat).
    public let fileSize: UInt64
    /// The ELF header.
    public let header: ELFHeader
    /// Every program header, in file order.
    public let programHeaders: [ProgramHeader]
    /// Every note of every PT_NOTE segment, in file order.
    public let notes: [ELFNote]
    /// The `CORE`/`NT_PRSTATUS` notes decoded, one per CPU.
    public let cpus: [PRStatus]
    /// The VMCOREINFO note, when present.
    public let vmcoreInfo: VMCoreInfo?
    /// Address lookups over the PT_LOADs.
    let segmentIndex: LoadSegmentIndex

    /// Largest program header count accepted (ELF's 16-bit count, or extended numbering up to this): 2^20
    /// headers are a 56 MiB table, enough for a packed dump whose stored pages alternate with left-out ones over
    /// 8 GiB; `ELFCoreWriter` never writes more.
    public static let maximumProgramHeaders = 1 << 20
    /// Largest PT_NOTE segment read (a few hundred bytes per CPU and 4 KiB of VMCOREINFO in a real vmcore).
    public static let maximumNoteSegmentSize: UInt64 = 64 << 20
    /// One past the highest physical address x86_64 can have (`MAXPHYADDR` is at most 52 bits).
    public static let physicalAddressLimit: UInt64 = 1 << 52
    /// Bytes of page bitmap a file of any size may ask for: one bit per frame up to 4 TiB of physical addresses.
    /// Beyond it, the bitmap must be justified by the file's own size (a bitmap is 1/32768 of the memory it maps).
    public static let bitmapAllowance: UInt64 = 128 << 20

    /// Opens `path` read-only if it is a regular file (no symlink at the last component, no FIFO or device, which
    /// could block) and reads its headers and notes.
    public static func open(_ path: String) throws -> ELFCore {
        let fd = try FileDescriptor.openRegularFile(path)
        do {
            return try ELFCore(file: fd, path: path)
        } catch {
            try? fd.close()
            throw error
        }
    }

    /// Reads the headers and notes of the already open `file`.
    public init(file: FileDescriptor, path: String) throws {
        self.path = path
        self.file = file
        let size = try file.status().size
        fileSize = size
        func fail(_ problem: ELFCoreError.Problem) -> ELFCoreError { ELFCoreError(path: path, problem) }

        let ident = try file.readBytes(count: ELFHeader.size, atOffset: 0)
        if ident.count >= 4 && ident[0..<4] != [0x7f, 0x45, 0x4c, 0x46] { throw fail(.badMagic(Array(ident[0..<4]))) }
        guard ident.count == ELFHeader.size else {
            throw fail(.truncated(what: "ELF header", offset: 0, needed: UInt64(ELFHeader.size), fileSize: size))
        }
        guard ident[4] == 2 else { throw fail(.unsupportedClass(ident[4])) }
        guard ident[5] == 1 else { throw fail(.unsupportedByteOrder(ident[5])) }
        let version = ident.littleEndian(UInt32.self, at: 20)!
        guard ident[6] == 1, version == 1 else {
            throw fail(.unsupportedVersion(ident[6] != 1 ? UInt32(ident[6]) : version))
        }
        let type = ident.littleEndian(UInt16.self, at: 16)!
        guard type == ELFHeader.typeCore else { throw fail(.notACore(type: type)) }
        let machine = ident.littleEndian(UInt16.self, at: 18)!
        guard machine == ELFHeader.machineX86_64 else { throw fail(.unsupportedMachine(machine)) }
        let phoff = ident.littleEndian(UInt64.self, at: 32)!
        let shoff = ident.littleEndian(UInt64.self, at: 40)!
        let flags = ident.littleEndian(UInt32.self, at: 48)!
        let phentsize = ident.littleEndian(UInt16.self, at: 54)!
        guard Int(phentsize) == ELFHeader.programHeaderSize else { throw fail(.badProgramHeaderSize(phentsize)) }
        var phnum = UInt64(ident.littleEndian(UInt16.self, at: 56)!)
        if phnum == 0xffff {
            // PN_XNUM: the real count is sh_info of section header 0.
            let section = try file.readBytes(count: 64, atOffset: shoff)
            guard section.count == 64 else {
                throw fail(
                    .truncated(what: "section header 0 (PN_XNUM count)", offset: shoff, needed: 64, fileSize: size))
            }
            phnum = UInt64(section.littleEndian(UInt32.self, at: 44)!)
        }
        guard phnum > 0, phnum <= UInt64(ELFCore.maximumProgramHeaders) else {
            throw fail(.absurdProgramHeaderCount(phnum))
        }
        let tableSize = phnum * UInt64(ELFHeader.programHeaderSize)
        guard phoff <= size, tableSize <= size - phoff else {
            throw fail(
                .truncated(
                    what: "program header table (\(phnum) entries)", offset: phoff, needed: tableSize, fileSize: size))
        }
        header = ELFHeader(
            type: type, machine: machine, flags: flags, programHeaderOffset: phoff, programHeaderCount: Int(phnum),
            sectionHeaderOffset: shoff)
        let table = try file.readBytes(count: Int(tableSize), atOffset: phoff)
        let headers = (0..<Int(phnum)).map { ProgramHeader(decoding: table, at: $0 * ELFHeader.programHeaderSize) }
        try ELFCore.validate(headers, path: path, fileSize: size)
        programHeaders = headers

        var allNotes: [ELFNote] = []
        var sawNoteSegment = false
        for (index, segment) in headers.enumerated() where segment.type == ProgramHeader.typeNote {
            sawNoteSegment = true
            guard segment.offset + segment.fileSize <= size else {
                throw fail(
                    .truncated(
                        what: "PT_NOTE segment \(index)", offset: segment.offset, needed: segment.fileSize,
                        fileSize: size))
            }
            let bytes = try file.readBytes(count: Int(segment.fileSize), atOffset: segment.offset)
            allNotes += try ELFNote.parseAll(bytes, segment: index, base: segment.offset, path: path)
        }
        guard sawNoteSegment else { throw fail(.noNoteSegment) }
        notes = allNotes
        cpus = try allNotes.filter { $0.name == "CORE" && $0.type == ELFNote.typePRStatus }.map {
            note throws(ELFCoreError) in
            try PRStatus(note: note, path: path)
        }
        vmcoreInfo = allNotes.first { $0.name == "VMCOREINFO" && $0.type == 0 }.map { VMCoreInfo($0.descriptor) }
        segmentIndex = LoadSegmentIndex(headers)
    }

    /// Checks sizes, 64-bit overflow, physical addresses and file-range overlap of the program headers, and that
    /// the page bitmap their frames need is justified by `fileSize`.
    static func validate(_ headers: [ProgramHeader], path: String, fileSize: UInt64) throws(ELFCoreError) {
        for (index, segment) in headers.enumerated() {
            if segment.offset.addingReportingOverflow(segment.fileSize).overflow
                || segment.virtualAddress.addingReportingOverflow(segment.memorySize).overflow
                    && segment.virtualAddress.addingReportingOverflow(segment.memorySize).partialValue != 0
                || segment.physicalAddress.addingReportingOverflow(segment.memorySize).overflow
                    && segment.physicalAddress.addingReportingOverflow(segment.memorySize).partialValue != 0
            {
                throw ELFCoreError(path: path, .segmentOverflow(index: index))
            }
            if segment.type == ProgramHeader.typeNote && segment.fileSize > ELFCore.maximumNoteSegmentSize {
                throw ELFCoreError(path: path, .absurdNoteSegment(index: index, size: segment.fileSize))
            }
            if segment.type == ProgramHeader.typeLoad && segment.fileSize > segment.memorySize {
                throw ELFCoreError(
                    path: path,
                    .fileSizeExceedsMemorySize(
                        index: index, fileSize: segment.fileSize, memorySize: segment.memorySize))
            }
        }
        var endPfn: (pfn: UInt64, index: Int) = (0, 0)
        for (index, segment) in headers.enumerated() where segment.type == ProgramHeader.typeLoad {
            let (end, overflow) = segment.physicalAddress.addingReportingOverflow(segment.memorySize)
            if overflow || end > ELFCore.physicalAddressLimit {
                throw ELFCoreError(
                    path: path,
                    .physicalAddressBeyondLimit(
                        index: index, physicalAddress: segment.physicalAddress, memorySize: segment.memorySize))
            }
            if segment.fileSize > 0 {
                let pfn = (segment.physicalAddress + segment.fileSize + 4095) / 4096
                if pfn > endPfn.pfn { endPfn = (pfn, index) }
            }
        }
        if endPfn.pfn / 8 > fileSize + ELFCore.bitmapAllowance {
            throw ELFCoreError(
                path: path, .unjustifiedBitmap(index: endPfn.index, endPfn: endPfn.pfn, fileSize: fileSize))
        }
        let placed = headers.indices.filter { headers[$0].fileSize > 0 }.sorted {
            headers[$0].offset < headers[$1].offset
        }
        // Two PT_LOADs may share file bytes when they map the same physical memory (a filtered dump stores the
        // kernel text mapping's frames once, in the direct map).
        func aliases(_ a: ProgramHeader, _ b: ProgramHeader) -> Bool {
            a.type == ProgramHeader.typeLoad && b.type == ProgramHeader.typeLoad
                && a.offset &- a.physicalAddress == b.offset &- b.physicalAddress
        }
        var reach: Int?  // the segment reaching furthest into the file so far
        for next in placed {
            if let previous = reach, headers[previous].fileRange.overlaps(headers[next].fileRange),
                !aliases(headers[previous], headers[next])
            {
                let (first, second) = (min(previous, next), max(previous, next))
                throw ELFCoreError(
                    path: path,
                    .overlappingSegments(
                        first: first, second: second, firstRange: headers[first].fileRange,
                        secondRange: headers[second].fileRange))
            }
            if reach.map({ headers[next].fileRange.upperBound > headers[$0].fileRange.upperBound }) ?? true {
                reach = next
            }
        }
    }

    /// Throws naming the first PT_LOAD whose file data runs past the end of the file (a truncated copy): writers
    /// call it before mapping or copying, so that a short file is an error, never SIGBUS or a dump padded with zeros.
    public func checkLoadSegmentsInFile() throws(ELFCoreError) {
        for (index, segment) in loadSegments where segment.fileRange.upperBound > fileSize {
            throw ELFCoreError(
                path: path,
                .truncated(
                    what: "PT_LOAD segment \(index)", offset: segment.offset, needed: segment.fileSize,
                    fileSize: fileSize))
        }
    }

    /// The `PT_LOAD` program headers with their index in `programHeaders`.
    public var loadSegments: [(index: Int, header: ProgramHeader)] { segmentIndex.loads }

    /// Reads `count` bytes at `offset`; a short read means the file is truncated and throws naming `what`.
    public func readBytes(atFileOffset offset: UInt64, count: Int, what: String) throws -> [UInt8] {
        let bytes = try file.readBytes(count: count, atOffset: offset)
        guard bytes.count == count else {
            throw ELFCoreError(
                path: path, .truncated(what: what, offset: offset, needed: UInt64(count), fileSize: fileSize))
        }
        return bytes
    }

    /// Closes the file.
    public func close() throws { try file.close() }
}
