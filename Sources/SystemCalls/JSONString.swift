/// JSON string literals, for the few JSON files written without Foundation (capture metadata, `oopsctl config --json`).
public enum JSONString {
    /// `text` as a JSON string literal: `"` and `\` escaped, control characters as `\n`, `\t`... or `\u00XX`.
    public static func quoted(_ text: String) -> String {
        // Most text needs no escape: one copy instead of a scalar-by-scalar one.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c || $0 == 0x7f }) {
            return "\"" + text + "\""
        }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                let digits = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
