import Capture
import VMCore

/// The command line of `oopsd-capture`, parsed by hand (no argument-parsing framework in the capture binary).
struct CaptureArguments {
    /// What the command line asks for.
    enum Command {
        case help
        case offline(OfflineCapture.Options)
    }

    static let usage = """
        usage: oopsd-capture --vmcore FILE --output DIR [--dump-level N] [--format elf]

        Saves a crashed kernel's memory, log and metadata from an ELF vmcore (offline mode).
        Writes DIR/dmesg.txt first, then DIR/vmcore, then DIR/metadata.json, into DIR.incomplete,
        renamed to DIR only when every file is written and synced.

          --vmcore FILE      the ELF core to read (/proc/vmcore in a capture kernel, or a saved full dump)
          --output DIR       the dump directory to create (must not exist)
          --dump-level N     0 writes every page; 1 (default) leaves zero pages out as holes;
                             levels with other bits (2, 4, 8, 16) are saved as 1 with a warning
          --format elf       the dump format (only elf so far)
          --breadcrumb ADDR  physical address (hex) of the oopsd module's breadcrumb, saved in metadata.json
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
        var format = OfflineCapture.Format.elf
        var breadcrumb: UInt64?
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
            func take() throws(UsageError) -> String { if let inline { return inline }; return try value(argument) }
            switch argument {
            case "-h", "--help": return .help
            case "--vmcore": vmcore = try take()
            case "--output": output = try take()
            case "--dump-level":
                let text = try take()
                guard let number = Int(text), DumpLevel(number) != nil else {
                    throw UsageError(message: "--dump-level must be a number from 0 to 31, not '\(text)'")
                }
                level = number
            case "--format":
                let text = try take()
                guard let parsed = OfflineCapture.Format(rawValue: text) else {
                    throw UsageError(message: "--format '\(text)' is not supported (supported: elf)")
                }
                format = parsed
            case "--breadcrumb":
                let text = try take()
                guard let address = Breadcrumb.address(inCommandLine: "\(Breadcrumb.commandLineParameter)=\(text)") else {
                    throw UsageError(message: "--breadcrumb must be a hexadecimal address, not '\(text)'")
                }
                breadcrumb = address
            default:
                throw UsageError(message: "unknown argument '\(arguments[index])'")
            }
            index += 1
        }
        guard let vmcore else { throw UsageError(message: "--vmcore FILE is required") }
        guard let output else { throw UsageError(message: "--output DIR is required") }
        return .offline(OfflineCapture.Options(vmcorePath: vmcore, outputDirectory: output,
            dumpLevel: DumpLevel(level)!, format: format, breadcrumbAddress: breadcrumb))
    }
}
