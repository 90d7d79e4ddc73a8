import SystemCalls

/// A kernel command line split into parameters the way the kernel splits it (`next_arg` in kernel/params.c):
/// white space separates parameters except inside double quotes, which may open anywhere (`foo="a b"`).
public struct KernelCommandLine: Equatable, Sendable {
    /// One parameter, kept verbatim (quotes included) so it is written back exactly as read.
    public struct Parameter: Equatable, Sendable {
        /// The text of the parameter, e.g. `console=ttyS0,115200` or `foo="a b"`.
        public var text: String

        public init(_ text: String) { self.text = text }

        /// The name before `=`, with `-` read as `_` as the kernel does (`nr-cpus` is `nr_cpus`).
        public var normalizedName: String {
            let name = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return String(name.map { $0 == "-" ? "_" : $0 })
        }

        /// The value after the first `=`, quotes included; nil for a bare flag such as `quiet`.
        public var value: String? {
            guard let equals = text.firstIndex(of: "=") else { return nil }
            return String(text[text.index(after: equals)...])
        }
    }

    /// The parameters for the kernel, in order.
    public var parameters: [Parameter]
    /// The words after a lone `--`, which the kernel passes to init; nil when there is no `--`.
    public var initArguments: [String]?

    public init(parameters: [Parameter], initArguments: [String]? = nil) {
        self.parameters = parameters
        self.initArguments = initArguments
    }

    /// Splits `text` (e.g. the content of `/proc/cmdline`).
    public init(parsing text: String) {
        var words: [String] = []
        var current = ""
        var inQuote = false
        for character in text {
            if character == "\"" { inQuote.toggle() }
            if !inQuote && (character == " " || character == "\t" || character == "\n") {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current) }
        if let separator = words.firstIndex(of: "--") {
            parameters = words[..<separator].map(Parameter.init)
            initArguments = Array(words[(separator + 1)...])
        } else {
            parameters = words.map(Parameter.init)
            initArguments = nil
        }
    }

    /// Reads `/proc/cmdline` under `root`.
    public static func read(root: HostRoot) throws -> KernelCommandLine {
        KernelCommandLine(parsing: try FileSystem.readText(root.path("/proc/cmdline")))
    }

    /// The command line as one string, parameters separated by single spaces.
    public var text: String {
        var words = parameters.map(\.text)
        if let initArguments { words += ["--"] + initArguments }
        return words.joined(separator: " ")
    }
}
