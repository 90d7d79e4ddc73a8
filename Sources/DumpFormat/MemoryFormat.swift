/// How a dump's memory is written (`[Capture] Format=`, `--format`).
public enum MemoryFormat: String, CaseIterable, Equatable, Sendable {
    /// ELF64 core, readable by vmcore-dmesg, makedumpfile, crash and drgn (`vmcore`).
    case elf
    /// kdump-compressed, readable by makedumpfile, crash and drgn/libkdumpfile (`vmcore.kdump`).
    case kdump

    /// The file of the dump directory the memory goes to.
    public var fileName: String { self == .elf ? DumpLayout.vmcore : DumpLayout.kdump }
    /// The file the memory becomes when the capture kernel streams it to `[Capture] Target=`: the ELF core as it
    /// is, the kdump format in makedumpfile's flattened form (`vmcore.kdump.flat`).
    public var streamedFileName: String { self == .elf ? DumpLayout.vmcore : DumpLayout.flattenedKdump }
}
