import Capture
import DumpFormat
import VMCore

/// The command line of `oopsd-capture`, parsed by hand (no argument-parsing framework in the capture binary).
struct CaptureArguments {
    /// What the command line asks for.
    enum Command {
        case help
        case version
        case offline(DumpSaver.Options)
    }

    static let usage = """
        usage: oopsd-capture --vmcore FILE --output DIR [--dump-level N] [--format elf|kdump]
                             [--compression zstd|zlib|none] [--threads N] [--timeout S] [--stall S]
                             [--sparse-elf]

        Saves a crashed kernel's memory, log and metadata from an ELF vmcore (offline mode).
        Writes DIR/dmesg.txt first, then DIR/vmcore (elf) or DIR/vmcore.kdump (kdump), then
        DIR/metadata.json, into DIR.incomplete, renamed to DIR only when every file is written and synced.

          --vmcore FILE      the ELF core to read (/proc/vmcore in a capture kernel, or a saved full dump)
          --output DIR       the dump directory to create (must not exist)
          --dump-level N     makedumpfile's bits, added up: 1 zero pages, 2 page cache, 4 page cache with
                             private data, 8 user pages, 16 free pages (default 1; 31 leaves out all)
          --format F         elf (default: left-out pages take no room, zero runs of 4 MiB or more are
                             segments without file data, shorter ones stored, no holes, PN_XNUM past
                             65,534 segments) or kdump (compressed, per page)
          --sparse-elf       ELF for readers without PN_XNUM: at most 65,000 segments, zero pages holes
          --compression C    kdump page compression: zstd (default), zlib (for old readers) or none
          --threads N        page walk and compression threads (default: one per CPU it may run on)
          --breadcrumb ADDR  physical address (hex) of the oopsd module's breadcrumb, saved in metadata.json
          --timeout S        seconds the save may take (default 1800); the log and each way of saving the memory
                             run in a child process with a share of it and a memory limit from MemAvailable, and
                             a step that dies or runs out of time falls back to a less filtered way
          --stall S          seconds a step may make no progress (no CPU time in user space, no I/O, no
                             word) before its threads are described and it is killed (default 120); a
                             memory step on several threads is then tried again on one
          --version          show the compression libraries linked, with their versions
          -h, --help         show this help

        Exit status: 0 complete, 1 incomplete (what was saved is kept in DIR.incomplete), 2 usage error.
        """

    /// A usage error, with the message to print.
    struct UsageError: Error { let message: String }

    /// Parses `arguments` (without the program name).
    static func parse(_ arguments: [String]) throws(UsageError) -> Command {
        var vmcore: String?
        var output: String?
        var level = 1
        var format = MemoryFormat.elf
        var breadcrumb: UInt64?
        var compression = PageCompression.zstd
        var threads = 0
        var timeout: UInt64 = 1800
        var stall: UInt64 = 120
        var elfLayout: ELFCoreWriter.Layout = .packed
        var index = 0
        func value(_ option: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count else { throw UsageError(message: "\(option) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            var argument = arguments[index]
            var inline: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                inline = String(argument[argument.index(after: equals)...])
                argument = String(argument[..<equals])
            }
            func take() throws(UsageError) -> String {
                if let inline { return inline }
                return try value(argument)
            }
            switch argument {
            case "-h", "--help": return .help
            case "--version": return .version
            case "--vmcore": vmcore = try take()
            case "--sparse-elf": elfLayout = .sparse
            case "--output": output = try take()
            case "--dump-level":
                let text = try take()
                guard let number = Int(text), DumpLevel(number) != nil else {
                    throw UsageError(message: "--dump-level must be a number from 0 to 31, not '\(text)'")
                }
                level = number
            case "--format":
                let text = try take()
                guard let parsed = MemoryFormat(rawValue: text) else {
                    throw UsageError(message: "--format '\(text)' is not supported (supported: elf, kdump)")
                }
                format = parsed
            case "--breadcrumb":
                let text = try take()
                guard let address = Breadcrumb.address(inCommandLine: "\(Breadcrumb.commandLineParameter)=\(text)")
                else {
                    throw UsageError(message: "--breadcrumb must be a hexadecimal address, not '\(text)'")
                }
                breadcrumb = address
            case "--compression":
                let text = try take()
                if let problem = PageCompression.problem(with: text) { throw UsageError(message: problem) }
                compression = PageCompression(rawValue: text)!
            case "--threads":
                let text = try take()
                guard let number = Int(text), (1...1024).contains(number) else {
                    throw UsageError(message: "--threads must be a number from 1 to 1024, not '\(text)'")
                }
                threads = number
            case "--timeout":
                let text = try take()
                guard let number = UInt64(text), (1...86_400 * 7).contains(number) else {
                    throw UsageError(message: "--timeout must be a number of seconds from 1 to 604800, not '\(text)'")
                }
                timeout = number
            case "--stall":
                let text = try take()
                guard let number = UInt64(text), (1...86_400 * 7).contains(number) else {
                    throw UsageError(message: "--stall must be a number of seconds from 1 to 604800, not '\(text)'")
                }
                stall = number
            default:
                throw UsageError(message: "unknown argument '\(arguments[index])'")
            }
            index += 1
        }
        guard let vmcore else { throw UsageError(message: "--vmcore FILE is required") }
        guard let output else { throw UsageError(message: "--output DIR is required") }
        return .offline(
            DumpSaver.Options(
                vmcorePath: vmcore, outputDirectory: output,
                dumpLevel: DumpLevel(level)!, format: format, compression: compression, threads: threads,
                breadcrumbAddress: breadcrumb, isolation: DumpSaver.Isolation(seconds: timeout, stallSeconds: stall),
                elfLayout: elfLayout))
    }
}
