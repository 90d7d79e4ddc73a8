/// One `Key=Value` line of a configuration file, with the section it stands in.
public struct IniAssignment: Equatable, Sendable {
    public var section: String
    public var key: String
    /// The value with surrounding white space removed; empty for a reset (`Key=`).
    public var value: String
    public var origin: ConfigOrigin
}

/// Splits systemd-style INI text into assignments.
///
/// Accepts a UTF-8 byte-order mark, CRLF line ends, a missing final newline, `#` and `;`
/// comment lines, and a trailing backslash continuing a value on the next line.
/// Lines that are neither a section header, a comment, nor `Key=Value` are reported.
public enum IniParser {
    /// Parses `text`, read from `file`; problems go to `diagnostics`.
    public static func parse(
        _ text: String, file: String, diagnostics: inout [ConfigDiagnostic]
    ) -> [IniAssignment] {
        var body = Substring(text)
        if body.hasPrefix("\u{FEFF}") { body = body.dropFirst() }
        // A Character "\r\n" is one grapheme in Swift, so split on both kinds of line end.
        var lines = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if lines.last == "" { lines.removeLast() }

        var result: [IniAssignment] = []
        var section: String? = nil
        var index = 0
        while index < lines.count {
            let lineNumber = index + 1
            let origin = ConfigOrigin(file: file, line: lineNumber)
            var line = String(trim(lines[index]))
            index += 1
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }

            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    diagnostics.append(
                        .init(.error, origin, "expected a section header like [Capture], found \"\(line)\""))
                    section = nil
                    continue
                }
                let name = String(line.dropFirst().dropLast())
                if name.contains(where: { $0 == "[" || $0 == "]" || $0.isWhitespace }) {
                    diagnostics.append(.init(.error, origin, "invalid section name \"\(name)\""))
                    section = nil
                    continue
                }
                section = name
                continue
            }

            // Continuation lines: a value ending in a backslash goes on with the next line that
            // is not a comment, joined by one space. The growing line is trimmed in place: a copy of it per
            // continuation made 40,000 of them (160 KB) take 15 s, and a 1 MiB file minutes.
            while line.hasSuffix("\\") {
                line.removeLast()
                while let last = line.last, last == " " || last == "\t" { line.removeLast() }
                if let first = line.first, first == " " || first == "\t" { line = String(trim(Substring(line))) }
                var next: Substring? = nil
                while index < lines.count {
                    let candidate = trim(lines[index])
                    index += 1
                    if candidate.hasPrefix("#") || candidate.hasPrefix(";") { continue }
                    next = candidate
                    break
                }
                guard let next else { break }
                line += " " + next
            }

            guard let equals = line.firstIndex(of: "=") else {
                diagnostics.append(.init(.error, origin, "expected Key=Value, found \"\(line)\""))
                continue
            }
            let key = String(trim(line[..<equals]))
            let value = String(trim(line[line.index(after: equals)...]))
            guard !key.isEmpty else {
                diagnostics.append(.init(.error, origin, "expected a key name before \"=\""))
                continue
            }
            guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) else {
                diagnostics.append(.init(.error, origin, "invalid key name \"\(key)\""))
                continue
            }
            guard let section else {
                diagnostics.append(
                    .init(.error, origin, "\(key)= stands before any section header; expected e.g. [Capture] above it"))
                continue
            }
            result.append(IniAssignment(section: section, key: key, value: value, origin: origin))
        }
        return result
    }

    static func trim(_ text: Substring) -> Substring {
        var start = text.startIndex
        var end = text.endIndex
        while start < end, text[start] == " " || text[start] == "\t" { start = text.index(after: start) }
        while end > start, text[text.index(before: end)] == " " || text[text.index(before: end)] == "\t" {
            end = text.index(before: end)
        }
        return text[start..<end]
    }
}
