import CElf
import SystemCalls

/// What the dynamic loader needs to know about one ELF file, read with libelf: its class and machine, its
/// interpreter (`PT_INTERP`), the libraries it needs (`DT_NEEDED`) and where to look (`DT_RUNPATH`/`DT_RPATH`).
public struct ElfDynamicInfo: Equatable, Sendable {
    /// `ELFCLASS32` or `ELFCLASS64`.
    public var elfClass: Int32
    /// `e_machine`, e.g. 62 for x86_64.
    public var machine: UInt16
    /// The program interpreter, e.g. `/lib64/ld-linux-x86-64.so.2`; nil for static files and libraries.
    public var interpreter: String?
    /// `DT_NEEDED` names, in order.
    public var needed: [String]
    /// `DT_RUNPATH` directories (colon-separated in the file).
    public var runPath: [String]
    /// `DT_RPATH` directories (ignored by the loader when `DT_RUNPATH` is present).
    public var rPath: [String]

    /// Reads the ELF file at `path` (a host path).
    public static func read(path: String) throws(InitramfsError) -> ElfDynamicInfo {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path) } catch {
            throw .file(doing: "reading the dynamic section of \(path)", cause: SystemError(caught: error))
        }
        defer { try? fd.close() }
        _ = elf_version(UInt32(EV_CURRENT))
        // Sound because the Elf handle lives until the deferred elf_end; libelf fills the locals passed in place.
        guard let elf = unsafe elf_begin(fd.rawValue, ELF_C_READ, nil) else {
            throw unsafe .elf(path: path, message: "libelf: " + String(cString: elf_errmsg(-1)))
        }
        defer { unsafe elf_end(elf) }
        guard unsafe elf_kind(elf) == ELF_K_ELF else { throw .elf(path: path, message: "not an ELF file") }
        var header = GElf_Ehdr()
        guard unsafe gelf_getehdr(elf, &header) != nil else {
            throw unsafe .elf(path: path, message: "no ELF header: " + String(cString: elf_errmsg(-1)))
        }
        var info = unsafe ElfDynamicInfo(
            elfClass: gelf_getclass(elf), machine: header.e_machine, interpreter: nil, needed: [], runPath: [],
            rPath: [])

        var programHeaderCount = 0
        guard unsafe elf_getphdrnum(elf, &programHeaderCount) == 0 else {
            throw unsafe .elf(path: path, message: "cannot count program headers: " + String(cString: elf_errmsg(-1)))
        }
        for index in 0..<programHeaderCount {
            var programHeader = GElf_Phdr()
            guard unsafe gelf_getphdr(elf, Int32(index), &programHeader) != nil else { continue }
            if programHeader.p_type == UInt32(PT_INTERP) {
                let bytes: [UInt8]
                do {
                    bytes = try fd.readBytes(count: Int(programHeader.p_filesz), atOffset: programHeader.p_offset)
                } catch { throw .elf(path: path, message: "reading PT_INTERP: \(error)") }
                info.interpreter = String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }

        // The dynamic section and the string table it links to.
        // Sound because sections, data and strings belong to `elf`, alive here; each lookup is nil-checked.
        var section = unsafe elf_nextscn(elf, nil)
        while let current = unsafe section {
            var sectionHeader = GElf_Shdr()
            if unsafe gelf_getshdr(current, &sectionHeader) != nil, sectionHeader.sh_type == UInt32(SHT_DYNAMIC),
                let data = unsafe elf_getdata(current, nil)
            {
                let count = Int(sectionHeader.sh_size / max(sectionHeader.sh_entsize, 1))
                for index in 0..<count {
                    var dynamic = GElf_Dyn()
                    guard unsafe gelf_getdyn(data, Int32(index), &dynamic) != nil else { break }
                    let tag = dynamic.d_tag
                    guard tag == Int64(DT_NEEDED) || tag == Int64(DT_RUNPATH) || tag == Int64(DT_RPATH) else {
                        continue
                    }
                    guard let pointer = unsafe elf_strptr(elf, Int(sectionHeader.sh_link), Int(dynamic.d_un.d_val))
                    else {
                        throw .elf(path: path, message: "dynamic entry \(index) points outside the string table")
                    }
                    let value = unsafe String(cString: pointer)
                    switch tag {
                    case Int64(DT_NEEDED): info.needed.append(value)
                    case Int64(DT_RUNPATH): info.runPath += value.split(separator: ":").map(String.init)
                    default: info.rPath += value.split(separator: ":").map(String.init)
                    }
                }
            }
            unsafe section = unsafe elf_nextscn(elf, current)
        }
        return info
    }
}
