import ArgumentParser
import Collection

/// `oopsctl info ID`: the report of one dump.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the report of one dump: what crashed, where, and the symbolized backtrace.",
        discussion: """
            Prints the dump's report.txt (oopsd writes it when it collects the dump); when there is none yet, \
            builds the report now from the dump's log, metadata and vmcore (symbols from the kallsyms tables in \
            the dump, no debug packages needed) without writing it.

            """ + DumpCommandSupport.exitStatus)

    @OptionGroup var global: GlobalOptions

    // `.allUnrecognized` so that `-1` (the newest dump) is taken as an ID, not as an unknown option.
    @Argument(parsing: .allUnrecognized, help: DumpCommandSupport.idHelp)
    var ids: [String] = []

    var id: String { ids[0] }

    func validate() throws { try DumpCommandSupport.validateOneID(ids) }

    @Flag(help: "Print the report as JSON (the report.json schema).")
    var json = false

    func run() throws {
        let store = DumpCommandSupport.store(global)
        let report = try DumpCommandSupport.run {
            try ReportFiles.load(try store.resolve(id), save: false)
        }
        if json {
            print(String(decoding: try ReportFiles.json(report), as: UTF8.self), terminator: "")
        } else {
            print(TerminalText.escaped(ReportText.render(report)), terminator: "")
        }
    }
}
