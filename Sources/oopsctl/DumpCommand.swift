#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Capture
import Collection
import DumpFormat
import FoundationEssentials
import SystemCalls
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

    func run() throws {
        if format != nil || dumpLevel != nil {
            try convert()
            return
        }
        let store = DumpCommandSupport.store(global)
        let written: UInt64 = try DumpCommandSupport.run {
            let entry = try store.resolve(id)
            // vmcore (ELF), else the vmcore.kdump of Format=kdump, copied as it is.
            let source = entry.memoryFile ?? entry.file(DumpLayout.vmcore)
            if FileSystem.exists(output) && !force {
                printError("oopsctl: \(output) exists; add --force to replace it")
                throw ExitCode(DumpCommandSupport.failure)
            }
            let input: FileDescriptor
            do {
                input = try FileDescriptor.open(source, [.readOnly, .noFollow])
            } catch {
                throw CollectionError.fileUnreadable(path: source, reason: "\(error)")
            }
            defer { try? input.close() }
            // Written under a temporary name and renamed, so FILE is never a partial copy. The name is new (O_EXCL):
            // a file already there is not ours to truncate or remove.
            let temporary = output + ".oopsctl-partial"
            let out: FileDescriptor
            do {
                out = try FileDescriptor.open(temporary, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o600)
            } catch let error as SystemError where error.errno == EEXIST {
                throw CollectionError.fileUnreadable(
                    path: temporary, reason: "exists (left by another export?); remove it, then export again")
            }
            var total: UInt64 = 0
            do {
                let chunk = 1 << 20
                while true {
                    let bytes = try input.readBytes(count: chunk, atOffset: total)
                    if bytes.isEmpty { break }
                    if bytes.contains(where: { $0 != 0 }) {
                        try bytes.withUnsafeBytes { try out.writeAll($0, atOffset: total) }
                    }
                    total += UInt64(bytes.count)
                }
                try out.truncate(to: total)
                try out.sync()
                try out.close()
                try FileSystem.rename(temporary, to: output)
            } catch {
                try? out.close()
                try? FileSystem.remove(temporary)
                throw CollectionError.fileUnreadable(path: output, reason: "export failed: \(error)")
            }
            return total
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
            let entry = try store.resolve(id)
            let source = entry.file(DumpLayout.vmcore)
            guard FileSystem.exists(source) else {
                throw CollectionError.fileUnreadable(
                    path: source, reason: "no ELF vmcore to convert (a kdump-compressed dump cannot be converted back)")
            }
            if FileSystem.exists(output) && !force {
                printError("oopsctl: \(output) exists; add --force to replace it")
                throw ExitCode(DumpCommandSupport.failure)
            }
            // A scratch directory this run creates (mkdtemp: a new name, 0700) and alone removes: nothing that
            // was there before, whatever its name, is deleted.
            let scratch = try Self.makeScratchDirectory(next: output)
            defer { try? FileSystem.removeTree(scratch) }
            let options = DumpSaver.Options(
                vmcorePath: source, outputDirectory: Path.join(scratch, "dump"), dumpLevel: level, format: target,
                compression: PageCompression(rawValue: compression)!)
            let outcome = DumpSaver(options: options) { printError("oopsctl dump: " + $0) }.run()
            guard outcome.isComplete, let directory = outcome.directory else {
                throw CollectionError.fileUnreadable(
                    path: output, reason: "conversion failed: \(outcome.metadata.incompleteReason ?? "unknown reason")")
            }
            let converted = Path.join(directory, target.fileName)
            try FileSystem.rename(converted, to: output)
            return (try FileSystem.status(output))?.size ?? 0
        }
        printError("wrote \(output) (\(ByteCount.text(written)), \(target.rawValue), dump level \(level.applied))")
    }

    /// Creates `<output>.oopsctl-convert-XXXXXX` (mkdtemp) for a conversion.
    static func makeScratchDirectory(next output: String) throws -> String {
        var template = Array((output + ".oopsctl-convert-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!).map { String(cString: $0) } }
        guard let made else {
            throw CollectionError.fileUnreadable(
                path: output, reason: "cannot create a scratch directory next to it: \(SystemError("mkdtemp", errno: errno))")
        }
        return made
    }
}
