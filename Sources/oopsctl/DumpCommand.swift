import ArgumentParser
import Collection
import DumpFormat
import VMCore

/// `oopsctl dump ID -o FILE`: exports a dump's vmcore.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Export the vmcore (ELF core, or vmcore.kdump) of a dump to a file, or convert it.",
        discussion: """
            Copies the dump's vmcore (or, for a dump captured with Format=kdump, its vmcore.kdump) to FILE, keeping \
            it sparse (runs of zero pages become holes), created 0600 because a vmcore holds every secret the \
            machine had. An existing FILE is only replaced with --force.

            With --format kdump, or --dump-level, the ELF vmcore is re-filtered and written anew (kdump-compressed \
            with --compression, or ELF of the kept frames), so a full dump can be made small later.

            """ + DumpCommandSupport.exitStatus)

    @OptionGroup var global: GlobalOptions

    // `.allUnrecognized` so that `-1` (the newest dump) is taken as an ID, not as an unknown option.
    @Argument(parsing: .allUnrecognized, help: DumpCommandSupport.idHelp)
    var ids: [String] = []

    var id: String { ids[0] }

    func validate() throws { try DumpCommandSupport.validateOneID(ids) }

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the vmcore.", valueName: "file"))
    var output: String

    @Flag(help: "Replace FILE when it exists.")
    var force = false

    @Option(help: ArgumentHelp("Convert to this format: elf or kdump.", valueName: "format"))
    var format: String?

    @Option(help: ArgumentHelp("Leave out pages by makedumpfile's level bits (0-31) while converting.", valueName: "n"))
    var dumpLevel: Int?

    @Option(help: ArgumentHelp("Page compression of the kdump format: zstd, zlib or none.", valueName: "c"))
    var compression: String = "zstd"

    @Flag(
        help: """
            With --format elf: for readers without PN_XNUM, at most 65,000 segments with zero pages as holes of \
            a sparse file (the default has no holes: zero runs under 4 MiB are stored, longer ones are segments \
            without file data).
            """)
    var sparse = false

    func run() throws {
        if format != nil || dumpLevel != nil || sparse {
            try convert()
            return
        }
        let store = DumpCommandSupport.store(global)
        let written: UInt64 = try DumpCommandSupport.run {
            try DumpExport.copyMemory(of: try store.resolve(id), to: output, replacing: force)
        }
        printError("wrote \(output) (\(ByteCount.text(written)))")
    }

    /// Re-filters and writes the dump's ELF vmcore in `format` through the capture's own writer.
    private func convert() throws {
        guard let target = MemoryFormat(rawValue: format ?? "elf") else {
            printError("oopsctl dump: --format must be elf or kdump, not '\(format ?? "")'")
            throw ExitCode(64)
        }
        guard let level = DumpLevel(dumpLevel ?? 31) else {
            printError("oopsctl dump: --dump-level must be 0-31, not \(dumpLevel ?? 0)")
            throw ExitCode(64)
        }
        if let problem = PageCompression.problem(with: compression) {
            printError("oopsctl dump: \(problem)")
            throw ExitCode(64)
        }
        let store = DumpCommandSupport.store(global)
        let written: UInt64 = try DumpCommandSupport.run {
            try DumpExport.convert(
                try store.resolve(id), to: output, replacing: force, level: level, format: target,
                compression: PageCompression(rawValue: compression)!, elfLayout: sparse ? .sparse : .packed
            ) { printError("oopsctl dump: " + $0) }
        }
        printError("wrote \(output) (\(ByteCount.text(written)), \(target.rawValue), dump level \(level.applied))")
    }
}
