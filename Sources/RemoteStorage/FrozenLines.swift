/// The `key=value` lines of a frozen capture target file (`FrozenS3Target`, `FrozenSFTPTarget`): one writer and one
/// reader for both. Everything after the first `=` is the value, verbatim; every key appears exactly once.
enum FrozenLines {
    /// The text of `values` in order; throws when a value holds a line break (it could not be read back).
    static func text(_ values: [(key: String, value: String)], target: String) throws(UploadError) -> String {
        var text = ""
        for (key, value) in values {
            if value.contains("\n") || value.contains("\r") {
                throw .configuration(target: target, message: "the value of \(key) contains a line break")
            }
            text += key + "=" + value + "\n"
        }
        return text
    }

    /// The values of `text` by key: each of `keys` exactly once, no other; errors name `path` and the line.
    static func parse(_ text: String, keys: [String], path: String) throws(UploadError) -> [String: String] {
        var values: [String: String] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            func fail(_ message: String) -> UploadError {
                .configuration(target: path, message: "line \(index + 1): \(message)")
            }
            guard let equals = line.firstIndex(of: "=") else { throw fail("expected key=value") }
            let name = String(line[..<equals])
            guard keys.contains(name) else { throw fail("unknown key \"\(name)\"") }
            guard values[name] == nil else { throw fail("\(name) repeats") }
            values[name] = String(line[line.index(after: equals)...])
        }
        if let missing = keys.first(where: { values[$0] == nil }) {
            throw .configuration(target: path, message: "missing key \(missing)")
        }
        return values
    }
}
