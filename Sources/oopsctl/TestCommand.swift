import ArgumentParser
import KernelInterfaces
import OopsService
import SystemCalls

/// `oopsctl test`: crash this machine on purpose, to prove the whole chain works.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Crash the kernel on purpose to test the capture (needs --yes).",
        discussion: """
            --kind panic writes 'c' to /proc/sysrq-trigger: the kernel panics and enters the capture kernel.
            --kind oops makes oopsd's kernel module oops the kernel in process context (NULL dereference); the \
            module then sends the oops to the capture kernel. This machine goes down either way: the capture \
            kernel saves a dump and reboots, and oopsd reports it after the reboot.

            Refuses without --yes, and when no capture kernel is armed unless --force (the machine would \
            then crash without saving anything). Exit status: 2 refused.
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable { case panic, oops }

    @OptionGroup var global: GlobalOptions

    @Option(help: "What to trigger: panic or oops.")
    var kind: Kind = .panic

    @Flag(help: "Confirm that this machine may crash now.")
    var yes = false

    @Flag(help: "Crash even when no capture kernel is armed (nothing will be saved).")
    var force = false

    func run() throws {
        let root = global.hostRoot
        guard yes else {
            printError("oopsctl test: this crashes the machine now; run again with --yes to confirm")
            throw ExitCode(2)
        }
        let armed = (try? CrashReservation.isLoaded(root: root)) ?? false
        if !armed && !force {
            printError(
                "oopsctl test: no capture kernel is armed, so the crash would save nothing; arm first (oopsctl arm or systemctl start oopsd), or use --force"
            )
            throw ExitCode(2)
        }
        switch kind {
        case .panic:
            try trigger(root.path("/proc/sysrq-trigger"), "c")
        case .oops:
            let parameters = root.path("/sys/module/\(OopsModule.name)/parameters")
            guard FileSystem.exists(parameters) else {
                printError(
                    "oopsctl test: the oopsd kernel module is not loaded; set [Kernel] OopsModule=yes and re-arm, or use --kind panic"
                )
                throw ExitCode(2)
            }
            try trigger(Path.join(parameters, "enable_triggers"), "1")
            let debugfs = root.path("/sys/kernel/debug")
            if !FileSystem.exists(root.path("/sys/kernel/debug/oopsd")) && root.prefix.isEmpty {
                try? FileSystem.mount("debugfs", on: debugfs, type: "debugfs")
            }
            try trigger(root.path("/sys/kernel/debug/oopsd/trigger"), "null")
        }
        // On a real machine nothing runs past the trigger.
        print(
            "triggered \(kind.rawValue) through \(kind == .panic ? "/proc/sysrq-trigger" : "/sys/kernel/debug/oopsd/trigger")"
        )
    }

    private func trigger(_ path: String, _ word: String) throws {
        print("oopsctl test: writing '\(word)' to \(path)")
        let fd = try FileDescriptor.open(path, [.writeOnly, .truncate])
        defer { try? fd.close() }
        try fd.writeAll(Array(word.utf8))
    }
}
