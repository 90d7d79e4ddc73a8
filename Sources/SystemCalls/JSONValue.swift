/// A JSON value with ordered object keys, serialised without Foundation.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    /// A number with a fraction or exponent, or an integer outside `Int64` (only the reader makes these).
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.serialized() == rhs.serialized() }

    /// A string value, or null for nil.
    public static func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    /// An integer value, or null for nil.
    public static func optional<T: BinaryInteger>(_ value: T?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }

    /// The value as pretty-printed JSON (two-space indent), ending in a newline at the top level.
    /// `spaceBeforeColon` writes `"key" : value`, as Foundation's `JSONEncoder` does (files first written by it).
    public func serialized(spaceBeforeColon: Bool = false) -> String {
        var out = ""
        write(into: &out, indent: 0, colon: spaceBeforeColon ? " : " : ": ")
        return out + "\n"
    }

    private func write(into out: inout String, indent: Int, colon: String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value): out += value.isFinite ? "\(value)" : "null"
        case .string(let value): out += JSONValue.quoted(value)
        case .array(let values):
            if values.isEmpty {
                out += "[]"
                return
            }
            out += "[\n"
            for (index, value) in values.enumerated() {
                out += String(repeating: "  ", count: indent + 1)
                value.write(into: &out, indent: indent + 1, colon: colon)
                out += index == values.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: "  ", count: indent) + "]"
        case .object(let members):
            if members.isEmpty {
                out += "{}"
                return
            }
            out += "{\n"
            for (index, (key, value)) in members.enumerated() {
                out += String(repeating: "  ", count: indent + 1) + JSONValue.quoted(key) + colon
                value.write(into: &out, indent: indent + 1, colon: colon)
                out += index == members.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: "  ", count: indent) + "}"
        }
    }

    /// `text` as a JSON string literal (see `JSONString.quoted`).
    public static func quoted(_ text: String) -> String { JSONString.quoted(text) }
}
