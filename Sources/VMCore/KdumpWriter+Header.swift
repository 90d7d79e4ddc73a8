import DumpFormat
import SystemCalls

extension KdumpWriter {
    /// Writes the headers of a kdump file for `core` and `selection`: the `disk_dump_header` (marked incomplete),
    /// the `kdump_sub_header`, the notes and the bitmap of present frames. Returns the header, whose offsets place
    /// the rest.
    func writeHeader(of core: ELFCore, selection: PageSelection, to output: some DumpOutput) throws -> KdumpHeader {
        let notes = core.notes.flatMap { $0.encoded() }
        var vmcoreInfoPlace: (offset: Int, size: Int)?
        var cursor = 0
        for note in core.notes {
            if note.name == "VMCOREINFO" && note.type == 0 {
                vmcoreInfoPlace = (cursor + 12 + (note.name.utf8.count + 1 + 3) / 4 * 4, note.descriptor.count)
            }
            cursor += note.encoded().count
        }
        let header = KdumpHeader(
            utsname: (try? Self.utsname(of: core)) ?? [], timestamp: core.vmcoreInfo?.crashTime ?? 0,
            status: compression.flag | KdumpHeader.incompleteFlag, blockSize: pageSize, maxMapnr: selection.endPfn,
            cpuCount: core.cpus.count, physBase: UInt64(bitPattern: core.vmcoreInfo?.number("phys_base") ?? 0),
            dumpLevel: selection.level.applied, noteSize: notes.count, vmcoreInfoInNotes: vmcoreInfoPlace)
        try output.writeAll(header.encoded(), atOffset: 0)
        try output.writeAll(header.subHeaderEncoded(), atOffset: UInt64(pageSize))
        try output.writeAll(notes, atOffset: header.noteOffset)
        try output.writeAll(selection.present.bytes(byteCount: header.bitmapSize), atOffset: header.firstBitmapOffset)
        return header
    }

    /// Clears `DUMP_DH_COMPRESSED_INCOMPLETE` in the written header, once every other byte is synced, and syncs.
    func markComplete(_ header: inout KdumpHeader, in output: some DumpOutput) throws {
        header.status = compression.flag
        var status: [UInt8] = []
        status.appendLittleEndian(header.status)
        try output.writeAll(status, atOffset: KdumpHeader.statusOffset)
        try output.sync()
    }

    /// The crashed kernel's `init_uts_ns.name` (6 × 65 bytes), for the header.
    static func utsname(of core: ELFCore) throws -> [UInt8] {
        guard let info = core.vmcoreInfo, let symbol = info.symbol("init_uts_ns") else { return [] }
        let offset = info.offset("uts_namespace.name") ?? 0
        guard (0..<VMCoreInfo.maximumFieldOffset).contains(offset) else { return [] }
        return try core.readKernelVirtual(
            symbol &+ UInt64(offset), count: 390,
            what: "init_uts_ns.name")
    }
}
