import VMCore

/// Finds the line of the log that says why the kernel crashed.
public enum PanicLine {
    /// Markers in order of preference: a panic line says the most; otherwise the first oops-like line.
    static let markers = [
        "Kernel panic", "BUG: ", "Oops: ", "general protection fault", "kernel BUG at", "Unable to handle",
    ]

    /// The last `Kernel panic` line, else the first line with another crash marker, as text without timestamp.
    public static func find(in records: [PrintkRecord]) -> String? {
        let lines = records.map { String(decoding: $0.text, as: UTF8.self) }
        if let panic = lines.last(where: { $0.contains(markers[0]) }) { return panic }
        for line in lines where markers.dropFirst().contains(where: { line.contains($0) }) { return line }
        return nil
    }
}
