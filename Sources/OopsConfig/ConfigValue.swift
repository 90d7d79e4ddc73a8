/// A checked configuration value.
public enum ConfigValue: Equatable, Sendable, CustomStringConvertible {
    case text(String)
    case boolean(Bool)
    case integer(Int)
    case sizeOrPercent(SizeOrPercent)
    case timeSpan(TimeSpan)
    case list([String])

    /// Checks `raw` against `kind`; on failure returns the expectation to report.
    public static func parse(_ raw: String, as kind: ConfigValueKind) -> Result<ConfigValue, ConfigValueError> {
        switch kind {
        case .path:
            if raw.isEmpty { return .success(.text("")) }
            guard raw.hasPrefix("/"), !raw.contains("\0"), !raw.split(separator: "/").contains("..") else {
                return .failure(ConfigValueError(kind.expectation))
            }
            return .success(.text(raw))
        case .text:
            return .success(.text(raw))
        case .boolean:
            switch raw.lowercased() {
            case "yes", "true", "on", "1", "y", "t": return .success(.boolean(true))
            case "no", "false", "off", "0", "n", "f": return .success(.boolean(false))
            default: return .failure(ConfigValueError(kind.expectation))
            }
        case .integer(let range):
            guard !raw.isEmpty, raw.allSatisfy({ $0.isASCII && ($0.isNumber) }), let number = Int(raw),
                range.contains(number)
            else { return .failure(ConfigValueError(kind.expectation)) }
            return .success(.integer(number))
        case .choice(let words):
            let word = raw.lowercased()
            guard words.contains(word) else { return .failure(ConfigValueError(kind.expectation)) }
            return .success(.text(word))
        case .sizeOrPercent:
            guard let size = ByteSize.parseSizeOrPercent(raw) else {
                return .failure(ConfigValueError(kind.expectation))
            }
            return .success(.sizeOrPercent(size))
        case .timeSpan:
            guard let span = TimeSpan.parse(raw) else { return .failure(ConfigValueError(kind.expectation)) }
            return .success(.timeSpan(span))
        case .size:
            guard let bytes = ByteSize.parse(raw) else { return .failure(ConfigValueError(kind.expectation)) }
            return .success(.sizeOrPercent(.bytes(bytes)))
        case .list:
            return .success(.list(raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)))
        }
    }

    /// Appends `words` to a list in place (the array is not copied); false when the value is not a list.
    mutating func append(words: [String]) -> Bool {
        guard case .list(var list) = self else { return false }
        self = .text("")  // the only reference to the array is now `list`
        list += words
        self = .list(list)
        return true
    }

    /// The value as it would be written in a file.
    public var description: String {
        switch self {
        case .text(let text): text
        case .boolean(let flag): flag ? "yes" : "no"
        case .integer(let number): String(number)
        case .sizeOrPercent(let size): size.description
        case .timeSpan(let span): span.description
        case .list(let words): words.joined(separator: " ")
        }
    }
}

/// Why a value was refused: the expectation it did not meet.
public struct ConfigValueError: Error, Equatable, Sendable {
    public var expectation: String
    public init(_ expectation: String) { self.expectation = expectation }
}
