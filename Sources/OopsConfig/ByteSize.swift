/// A size in bytes, or a percentage of something (a file system, the RAM) decided later.
public enum SizeOrPercent: Equatable, Sendable, CustomStringConvertible {
    case bytes(UInt64)
    /// Per-mille precision is enough: `12.5%` is stored as 125.
    case perMille(UInt32)

    /// The byte count this stands for, given the whole it is a part of.
    public func resolve(total: UInt64) -> UInt64 {
        switch self {
        case .bytes(let count): count
        case .perMille(let share): total / 1000 * UInt64(share) + (total % 1000) * UInt64(share) / 1000
        }
    }

    public var description: String {
        switch self {
        case .bytes(let count): ByteSize.format(count)
        case .perMille(let share): share % 10 == 0 ? "\(share / 10)%" : "\(share / 10).\(share % 10)%"
        }
    }
}

/// Parses sizes like systemd does: a number with an optional `K`, `M`, `G`, `T` suffix
/// (powers of 1024; `B` and a trailing `iB` are accepted).
public enum ByteSize {
    /// The byte count of `text`, or nil with nothing consumed when it is not a size.
    public static func parse(_ text: String) -> UInt64? {
        var digits = Substring(text.trimmingSpaces())
        guard !digits.isEmpty else { return nil }
        var unit: UInt64 = 1
        let upper = digits.uppercased()
        let suffixes: [(String, UInt64)] = [
            ("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("TIB", 1 << 40),
            ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("TB", 1 << 40),
            ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40), ("B", 1),
        ]
        for (suffix, multiplier) in suffixes where upper.hasSuffix(suffix) {
            unit = multiplier
            digits = digits.dropLast(suffix.count)
            break
        }
        digits = Substring(String(digits).trimmingSpaces())
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt64(digits) else {
            return nil
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow || product > maximum ? nil : product
    }

    /// The largest size accepted: what a file offset (`off_t`, libcurl's `curl_off_t`) can hold, 2^63 - 1.
    public static let maximum = UInt64(Int64.max)

    /// A size or a percentage (`10%`, `12.5%`, up to 100%).
    public static func parseSizeOrPercent(_ text: String) -> SizeOrPercent? {
        let trimmed = text.trimmingSpaces()
        if trimmed.hasSuffix("%") {
            let number = trimmed.dropLast()
            let parts = number.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 2, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }), let whole = UInt32(parts[0]),
                whole <= 100
            else { return nil }
            var tenths: UInt32 = 0
            if parts.count == 2 {
                guard parts[1].count == 1, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
                    let digit = UInt32(parts[1])
                else { return nil }
                tenths = digit
            }
            let share = whole * 10 + tenths  // at most 1009: no overflow
            return share <= 1000 ? .perMille(share) : nil
        }
        return parse(trimmed).map { .bytes($0) }
    }

    /// A human-readable size: `512M`, `1.5G`, `4096` (bytes).
    public static func format(_ bytes: UInt64) -> String {
        let units: [(String, UInt64)] = [("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        for (name, size) in units where bytes >= size {
            if bytes % size == 0 { return "\(bytes / size)\(name)" }
            // Whole units times ten plus the rounded tenths of the rest: no product overflows, even near 2^64.
            let tenths = bytes / size * 10 + (bytes % size * 10 + size / 2) / size
            return "\(tenths / 10).\(tenths % 10)\(name)"
        }
        return "\(bytes)"
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(IniParser.trim(Substring(self)))
    }
}
