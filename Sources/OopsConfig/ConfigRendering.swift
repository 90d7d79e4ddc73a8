import SystemCalls

/// Text forms of a merged configuration: the annotated view of `oopsctl config` and JSON.
public enum ConfigRendering {
    /// INI text of every key's effective value, each line annotated with the file and line
    /// that set it, or `default`.
    public static func annotated(_ merged: MergedConfiguration) -> String {
        var lines: [String] = []
        if merged.files.isEmpty {
            lines.append("# no configuration files; built-in defaults")
        } else {
            lines.append("# files applied, in order:")
            for file in merged.files { lines.append("#   \(file)") }
        }
        for section in ConfigKeys.sections.filter({ !$0.hasSuffix(".*") }) + merged.namedSections {
            lines.append("")
            lines.append("[\(section)]")
            let rows = ConfigKeys.keys(in: section).map { key -> (String, String) in
                let entry = merged.entry(key)
                return ("\(key.name)=\(entry.value)", entry.origin?.description ?? "default")
            }
            let width = rows.map(\.0.count).max() ?? 0
            for (assignment, origin) in rows {
                lines.append(assignment + String(repeating: " ", count: width - assignment.count) + "  # " + origin)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The documented defaults file shipped as `Config/oopsd.conf`: every key, commented out
    /// at its default, under a one-line explanation.
    public static func defaultsFile() -> String {
        var lines = [
            "# oopsd configuration. Every key is shown commented out at its default.",
            "#",
            "# Put local changes in drop-ins, /etc/oopsd/oopsd.conf.d/*.conf, applied after this file in",
            "# file-name order; a drop-in in /etc masks a same-named one in /run, /usr/local/lib or /usr/lib.",
            "# An empty assignment (Key=) resets a key to its default, or empties a list.",
            "# Sizes take K, M, G, T suffixes; time spans take us, ms, s, min, h, d (e.g. 90s, 1h 30min).",
            "# Check the result with: oopsctl config --validate",
        ]
        for section in ConfigKeys.sections {
            lines.append("")
            if section.hasSuffix(".*") {
                // A template: as many named sections as wanted, e.g. [Upload.fleet-s3] and [Upload.dropbox].
                lines.append("# One section per target, named as you like; uncomment and rename:")
                lines.append("#[\(section.dropLast())NAME]")
            } else {
                lines.append("[\(section)]")
            }
            for key in ConfigKeys.all where key.section == section {
                lines.append("# \(key.summary)")
                lines.append("#\(key.name)=\(key.defaultText)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `{"Capture":{"DumpLevel":{"value":"31","origin":null},…},"diagnostics":[…]}`.
    public static func json(_ merged: MergedConfiguration) -> String {
        var out = "{"
        out.reserveCapacity(8192)  // grown once, not by doubling from a few bytes
        let sections = ConfigKeys.sections.filter { !$0.hasSuffix(".*") } + merged.namedSections
        for (sectionIndex, section) in sections.enumerated() {
            if sectionIndex > 0 { out += "," }
            out += "\(quote(section)):{"
            for (keyIndex, key) in ConfigKeys.keys(in: section).enumerated() {
                if keyIndex > 0 { out += "," }
                let entry = merged.entry(key)
                let origin = entry.origin.map { quote($0.description) } ?? "null"
                out += "\(quote(key.name)):{\"value\":\(quote(entry.value.description)),\"origin\":\(origin)}"
            }
            out += "}"
        }
        out += ",\"files\":[" + merged.files.map(quote).joined(separator: ",") + "]"
        out += ",\"diagnostics\":["
        out += merged.diagnostics.map { d in
            "{\"severity\":\(quote(d.severity.rawValue)),\"file\":\(quote(d.origin.file)),\"line\":\(d.origin.line),\"message\":\(quote(d.message))}"
        }.joined(separator: ",")
        out += "]}"
        return out
    }

    /// A JSON string literal.
    public static func quote(_ text: String) -> String { JSONString.quoted(text) }
}
