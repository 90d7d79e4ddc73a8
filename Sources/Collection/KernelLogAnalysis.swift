/// What the kernel's own oops/panic text in the log (`dmesg.txt`, `vmcore-dmesg` format) says about the crash.
public struct KernelLogAnalysis: Equatable, Sendable {
    /// One frame of a `Call Trace:` as the kernel printed it.
    public struct Frame: Equatable, Sendable, Codable {
        /// The function name.
        public var function: String
        /// Offset into it.
        public var offset: UInt64
        /// The function's size.
        public var size: UInt64
        /// The module, for `[module]` frames.
        public var module: String?
        /// False for `? ` frames (a stale address the kernel's unwinder could not vouch for).
        public var reliable: Bool

        /// `function+0xoff/0xsize [module]`, as printed.
        public var text: String {
            "\(function)+0x\(String(offset, radix: 16))/0x\(String(size, radix: 16))"
                + (module.map { " [\($0)]" } ?? "")
        }
    }

    /// The first line that names the problem (`BUG: ...`, `Oops: ...`, `general protection fault ...`,
    /// `kernel BUG at ...`), when the log has one.
    public var problemLine: String?
    /// The `Kernel panic - not syncing: ...` line.
    public var panicLine: String?
    /// Seconds since boot of the problem line (else of the panic line): the uptime at the crash.
    public var uptimeAtCrash: Double?
    /// `CPU: N` of the report's header line.
    public var cpu: Int?
    /// `PID: N`.
    public var pid: Int?
    /// `Comm: name`.
    public var command: String?
    /// The taint letters of `Tainted: ...` (empty for `Not tainted`).
    public var taintLetters: String?
    /// The `RIP: 0010:function+0x…/0x…` location, when the report has registers.
    public var ripFrame: Frame?
    /// The frames of the first `Call Trace:` after the problem (or panic) line.
    public var callTrace: [Frame] = []
    /// The names of `Modules linked in:`.
    public var modules: [String]?

    /// Strips the `[    1.234567] ` prefix; returns the timestamp (nil when absent) and the text.
    static func split(_ line: Substring) -> (Double?, Substring) {
        guard line.first == "[", let close = line.firstIndex(of: "]") else { return (nil, line) }
        let stamp = line[line.index(after: line.startIndex)..<close].trimming(" ")
        guard let seconds = Double(stamp) else { return (nil, line) }
        var rest = line[line.index(after: close)...]
        if rest.first == " " { rest = rest.dropFirst() }
        return (seconds, rest)
    }

    /// Parses a frame like `? sysrq_handle_crash+0x16/0x20 [mod]`.
    static func frame(_ text: Substring) -> Frame? {
        var body = text.trimming(" \t")[...]
        var reliable = true
        if body.hasPrefix("? ") {
            reliable = false
            body = body.dropFirst(2)
        }
        var module: String?
        if body.hasSuffix("]"), let open = body.lastIndex(of: "[") {
            module = String(body[body.index(after: open)..<body.index(before: body.endIndex)])
            body = body[..<open].trimming(" ")[...]
        }
        guard let plus = body.lastIndex(of: "+"), let slash = body.lastIndex(of: "/"), plus < slash else { return nil }
        let name = body[..<plus]
        let offsetText = body[body.index(after: plus)..<slash]
        let sizeText = body[body.index(after: slash)...]
        guard !name.isEmpty, !name.contains(" "), offsetText.hasPrefix("0x"), sizeText.hasPrefix("0x"),
            let offset = UInt64(offsetText.dropFirst(2), radix: 16), let size = UInt64(sizeText.dropFirst(2), radix: 16)
        else { return nil }
        return Frame(function: String(name), offset: offset, size: size, module: module, reliable: reliable)
    }

    /// Whether a log line starts an oops report.
    static func isProblem(_ text: Substring) -> Bool {
        text.hasPrefix("BUG: ") || text.hasPrefix("Oops: ") || text.hasPrefix("general protection fault")
            || text.hasPrefix("kernel BUG at ") || text.hasPrefix("Oops - ") || text.hasPrefix("stack segment: ")
    }

    /// Analyses a whole log.
    public init(log: String) {
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false).map { KernelLogAnalysis.split($0) }
        let problemIndex = lines.firstIndex { KernelLogAnalysis.isProblem($0.1) }
        let panicIndex = lines.firstIndex { $0.1.hasPrefix("Kernel panic - not syncing") }
        if let problemIndex { problemLine = String(lines[problemIndex].1) }
        if let panicIndex { panicLine = String(lines[panicIndex].1) }
        guard let start = problemIndex ?? panicIndex else { return }
        uptimeAtCrash = lines[start].0

        var inTrace = false
        var traceDone = false
        for (_, text) in lines[start...] {
            if !traceDone && inTrace {
                let trimmed = text.trimming(" ")
                if trimmed.hasPrefix("<") && trimmed.hasSuffix(">") { continue }  // <TASK>, </IRQ> ...
                if let frame = KernelLogAnalysis.frame(text) {
                    callTrace.append(frame)
                    continue
                }
                inTrace = false
                traceDone = !callTrace.isEmpty
            }
            if cpu == nil, text.hasPrefix("CPU: "), text.contains(" PID: ") { header(text) }
            if ripFrame == nil, text.hasPrefix("RIP: "), let colon = text.dropFirst(5).firstIndex(of: ":") {
                ripFrame = KernelLogAnalysis.frame(text[text.index(after: colon)...])
            }
            if modules == nil, text.hasPrefix("Modules linked in:") {
                modules = text.dropFirst("Modules linked in:".count).split(separator: " ").map(String.init)
            }
            if !traceDone && text.hasPrefix("Call Trace:") { inTrace = true }
            if text.hasPrefix("---[ end ") || text.hasPrefix("Kernel Offset:") { break }
        }
    }

    /// Reads `CPU: 0 PID: 233 Comm: sh Tainted: G      D     6.1.0 #1` (6.12 adds `UID: 0`).
    private mutating func header(_ text: Substring) {
        let words = text.split(separator: " ")
        func value(after key: String) -> Substring? {
            words.firstIndex { $0 == key }.flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil }
        }
        cpu = value(after: "CPU:").flatMap { Int($0) }
        pid = value(after: "PID:").flatMap { Int($0) }
        command = value(after: "Comm:").map(String.init)
        if text.contains(" Not tainted ") {
            taintLetters = ""
        } else if let range = text.firstRange(of: " Tainted: ") {
            // One column per taint flag, a letter or a space; the release (a digit) follows.
            let columns = text[range.upperBound...].prefix { $0 == " " || ($0.isLetter && $0.isUppercase) }
            taintLetters = String(columns.filter { $0 != " " })
        }
    }
}

extension Substring {
    func trimming(_ set: String) -> String {
        var slice = self
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

extension String {
    func trimming(_ set: String) -> String { self[...].trimming(set) }
}
