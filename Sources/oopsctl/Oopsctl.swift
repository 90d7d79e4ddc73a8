import ArgumentParser
import OopsConfig
import SystemCalls

/// `oopsctl`: the operator's view of oopsd, in the spirit of `coredumpctl`.
@main
struct Oopsctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oopsctl",
        abstract: "Inspect and control oopsd, the kernel crash-dump service.",
        discussion: """
            oopsd keeps a capture kernel loaded so that a kernel panic (or oops) saves the crashed \
            kernel's memory. oopsctl shows its configuration, its state and the dumps it saved.
            """,
        subcommands: [
            ConfigCommand.self, StatusCommand.self, ArmCommand.self, DisarmCommand.self, EstimateCommand.self,
            TestCommand.self, ListCommand.self, InfoCommand.self, DmesgCommand.self, DumpCommand.self,
            DebugCommand.self, UploadCommand.self,
        ])
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Resolve every absolute path (/etc, /boot, /sys, /proc, /var) under this directory (also $OOPSD_ROOT).",
            valueName: "dir"))
    var root: String?

    /// The host root the command works under.
    var hostRoot: HostRoot { HostRoot.resolve(flag: root) }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    var stderr = StandardError()
    // Error messages name dumps and quote their files: no terminal escapes from there.
    print(TerminalText.escaped(text), to: &stderr)
}

/// Standard error as a text stream (unbuffered write(2), so it interleaves with stdout in order).
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        try? FileDescriptor.standardError.writeAll(Array(string.utf8))
    }
}
