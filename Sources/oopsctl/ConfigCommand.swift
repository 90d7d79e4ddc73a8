import ArgumentParser
import OopsConfig

/// `oopsctl config`: the merged configuration with the origin of every value.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the merged configuration and where each value came from.",
        discussion: """
            Reads /etc/oopsd/oopsd.conf and the drop-ins in oopsd.conf.d/ under /usr/lib/oopsd, \
            /usr/local/lib/oopsd, /run/oopsd and /etc/oopsd, with systemd's precedence rules, and \
            prints every key's effective value followed by the file:line that set it. Problems are \
            printed to standard error as file:line: message.

            Exit status: 0 when the configuration is valid (warnings allowed), 1 when --validate \
            found an error.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Only check the configuration; exit 1 on any error.")
    var validate = false

    @Flag(help: "Print the merged configuration as JSON.")
    var json = false

    @Flag(help: "Print the documented defaults file (what Config/oopsd.conf holds) and exit.")
    var defaults = false

    func run() throws {
        if defaults {
            print(ConfigRendering.defaultsFile(), terminator: "")
            return
        }
        let merged = MergedConfiguration.load(root: global.hostRoot)
        for diagnostic in merged.diagnostics { printError(diagnostic.description) }
        if validate {
            let errors = merged.errors.count
            let warnings = merged.diagnostics.count - errors
            if json {
                print(ConfigRendering.json(merged))
            } else {
                print("\(merged.files.count) file(s) read, \(errors) error(s), \(warnings) warning(s)")
            }
            if errors > 0 { throw ExitCode(1) }
            return
        }
        print(json ? ConfigRendering.json(merged) : ConfigRendering.annotated(merged), terminator: json ? "\n" : "")
    }
}
