import ArgumentParser
import Collection
import DumpFormat
import SystemCalls
import VMCore

/// `oopsctl dmesg ID`: the crashed kernel's log.
struct DmesgCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dmesg",
        abstract: "Print the crashed kernel's log (its dmesg) from a dump.",
        discussion: """
            Prints the dump's dmesg.txt, which the capture wrote first; when it is missing, decodes the log from \
            the vmcore (the same text vmcore-dmesg prints).

            """ + DumpCommandSupport.exitStatus)

    @OptionGroup var global: GlobalOptions

    // `.allUnrecognized` so that `-1` (the newest dump) is taken as an ID, not as an unknown option.
    @Argument(parsing: .allUnrecognized, help: DumpCommandSupport.idHelp)
    var ids: [String] = []

    var id: String { ids[0] }

    func validate() throws { try DumpCommandSupport.validateOneID(ids) }

    func run() throws {
        let store = DumpCommandSupport.store(global)
        let bytes: [UInt8] = try DumpCommandSupport.run {
            let entry = try store.resolve(id)
            let path = entry.file(DumpLayout.dmesg)
            if FileSystem.exists(path) {
                do {
                    return try FileSystem.readRegularFile(path)
                } catch {
                    throw CollectionError.cannotRead(path: path, cause: FileReadError(caught: error))
                }
            }
            let vmcore = entry.file(DumpLayout.vmcore)
            guard FileSystem.exists(vmcore) else {
                throw CollectionError.fileUnreadable(
                    path: path, reason: "missing, and the dump has no vmcore to decode the log from")
            }
            let core = try ELFCore.open(vmcore)
            defer { try? core.close() }
            return DmesgFormat.text(try PrintkRing.records(of: core))
        }
        // The log is the crashed kernel's text: its control characters are escaped, like every dump text.
        try FileDescriptor.standardOutput.writeAll(
            Array(TerminalText.escaped(bytes: bytes).utf8))
    }
}
