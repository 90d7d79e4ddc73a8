import ArgumentParser
import Collection
import Foundation
import SystemCalls

/// `oopsctl dump ID -o FILE`: exports a dump's vmcore.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Export the vmcore (ELF core) of a dump to a file.",
        discussion: """
            Copies the dump's vmcore to FILE, keeping it sparse (runs of zero pages become holes), created 0600 \
            because a vmcore holds every secret the machine had. An existing FILE is only replaced with --force.

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

    func run() throws {
        let store = DumpCommandSupport.store(global)
        let written: UInt64 = try DumpCommandSupport.run {
            let entry = try store.resolve(id)
            let source = entry.file(DumpEntry.FileName.vmcore)
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
            // Written under a temporary name and renamed, so FILE is never a partial copy.
            let temporary = output + ".oopsctl-partial"
            let out = try FileDescriptor.open(temporary, [.writeOnly, .create, .truncate, .noFollow], mode: 0o600)
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
}
