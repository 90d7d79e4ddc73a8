/// Text from dumps (directory names, `kernel_release`, `panic_line`, the crashed kernel's log) made safe for a
/// terminal: a crashed kernel or whoever wrote a dump directory chooses those bytes, and an escape sequence in
/// them must not retitle, recolour or rewrite the operator's terminal.
///
/// C0 controls (but the newline and tab of multi-line text), DEL and C1 controls become `\xNN`; a backslash stays
/// as it is. Everything else passes unchanged.
enum TerminalText {
    /// `text` with control characters escaped; `lines` keeps newlines (multi-line output such as a report).
    static func escaped(_ text: String, lines: Bool = true) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0, lines: lines) }) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if isControl(scalar, lines: lines) {
                let hex = String(scalar.value, radix: 16)
                result += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The bytes of a log: invalid UTF-8 becomes U+FFFD, then `escaped(_:)`.
    static func escaped(bytes: [UInt8]) -> String { escaped(String(decoding: bytes, as: UTF8.self)) }

    /// Whether `scalar` is a control character to escape.
    static func isControl(_ scalar: Unicode.Scalar, lines: Bool) -> Bool {
        let value = scalar.value
        if lines && (value == 0x0a || value == 0x09) { return false }
        return value < 0x20 || (0x7f...0x9f).contains(value)
    }
}
