import ArgumentParser
import Collection
import DumpFormat
import FoundationEssentials
import SystemCalls

/// `oopsctl debug ID`: opens the dump in drgn or crash.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug",
        abstract: "Open a dump in a kernel debugger (drgn, else crash).",
        discussion: """
            Runs 'drgn -c VMCORE' when drgn is installed (it resolves symbols from the kallsyms tables in the \
            dump, or from debug symbols when installed), else 'crash VMLINUX VMCORE' when crash and the kernel's \
            debug symbols (linux-image-RELEASE-dbg: /usr/lib/debug/boot/vmlinux-RELEASE) are installed. VMCORE \
            is the dump's vmcore, or its vmcore.kdump when it was captured with Format=kdump. When neither \
            debugger is possible it says what to install.

            """ + DumpCommandSupport.exitStatus)

    @OptionGroup var global: GlobalOptions

    // `.allUnrecognized` so that `-1` (the newest dump) is taken as an ID, not as an unknown option.
    @Argument(parsing: .allUnrecognized, help: DumpCommandSupport.idHelp)
    var ids: [String] = []

    var id: String { ids[0] }

    func validate() throws { try DumpCommandSupport.validateOneID(ids) }

    @Flag(name: .long, help: "Print the debugger command instead of running it.")
    var printCommand = false

    /// The first executable called `name` in $PATH.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    func run() throws {
        let store = DumpCommandSupport.store(global)
        let (entry, release) = try DumpCommandSupport.run { () throws -> (DumpEntry, String?) in
            let entry = try store.resolve(id)
            let release = entry.metadata?.kernelRelease ?? (try? ReportFiles.read(entry))??.kernelRelease
            return (entry, release)
        }
        // The ELF vmcore, or the kdump-compressed vmcore.kdump of Format=kdump: both debuggers read either.
        guard let vmcore = entry.memoryFile else {
            printError(
                "oopsctl: \(entry.id) has no vmcore (neither \(entry.file(DumpLayout.vmcore)) nor "
                    + "\(DumpLayout.kdump)): only its log and report exist")
            throw ExitCode(DumpCommandSupport.failure)
        }
        var command: [String]?
        if let drgn = DebugCommand.which("drgn") {
            command = [drgn, "-c", vmcore]
        } else if let crash = DebugCommand.which("crash") {
            let vmlinux = global.hostRoot.path("/usr/lib/debug/boot/vmlinux-\(release ?? "RELEASE")")
            if release != nil && FileManager.default.fileExists(atPath: vmlinux) {
                command = [crash, vmlinux, vmcore]
            } else {
                printError(
                    """
                    oopsctl: crash needs the kernel's debug symbols, and \(vmlinux) is missing.
                    Install them with: apt install linux-image-\(release ?? "<release>")-dbg
                    or install drgn, which needs none: apt install python3-drgn (or: pip install drgn)
                    """)
                throw ExitCode(DumpCommandSupport.failure)
            }
        }
        guard let command else {
            printError(
                """
                oopsctl: no kernel debugger found in $PATH (looked for drgn and crash).
                Install drgn, which reads the symbols from the dump itself: apt install python3-drgn (or: pip install drgn)
                or crash with the kernel's debug symbols: apt install crash linux-image-\(release ?? "<release>")-dbg
                """)
            throw ExitCode(DumpCommandSupport.failure)
        }
        if printCommand {
            print(command.joined(separator: " "))
            return
        }
        // Replace oopsctl with the debugger so it owns the terminal and its exit status is ours.
        do { try CurrentProcess.execute(command) } catch {
            printError("oopsctl: cannot run \(command[0]): \(error)")
        }
        throw ExitCode(DumpCommandSupport.failure)
    }
}
