/// A duration in microseconds, parsed from systemd time-span syntax (`90s`, `15min`, `1h 30min`).
public struct TimeSpan: Equatable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: UInt64

    public init(microseconds: UInt64) { self.microseconds = microseconds }
    /// `seconds` whole seconds (saturating at the largest span).
    public init(seconds: UInt64) {
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        self.microseconds = overflow ? .max : product
    }

    /// Whole seconds, rounded down.
    public var seconds: UInt64 { microseconds / 1_000_000 }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.microseconds < b.microseconds }

    private static let units: [(names: [String], micros: UInt64)] = [
        (["us", "usec", "µs"], 1),
        (["ms", "msec"], 1_000),
        (["s", "sec", "second", "seconds"], 1_000_000),
        (["m", "min", "minute", "minutes"], 60_000_000),
        (["h", "hr", "hour", "hours"], 3_600_000_000),
        (["d", "day", "days"], 86_400_000_000),
        (["w", "week", "weeks"], 604_800_000_000),
    ]

    /// Parses `text`; a bare number means seconds. Nil when it is not a time span.
    public static func parse(_ text: String) -> TimeSpan? {
        var rest = Substring(text.trimmingSpaces())
        guard !rest.isEmpty else { return nil }
        var total: UInt64 = 0
        while !rest.isEmpty {
            rest = rest.drop(while: { $0 == " " })
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, let number = UInt64(digits) else { return nil }
            rest = rest.dropFirst(digits.count).drop(while: { $0 == " " })
            let name = rest.prefix(while: { $0.isLetter || $0 == "µ" })
            rest = rest.dropFirst(name.count)
            let multiplier: UInt64
            if name.isEmpty {
                multiplier = 1_000_000
            } else if let unit = units.first(where: { $0.names.contains(String(name)) }) {
                multiplier = unit.micros
            } else {
                return nil
            }
            let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { return nil }
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !sumOverflow else { return nil }
            total = sum
        }
        return TimeSpan(microseconds: total)
    }

    /// The shortest systemd-style spelling: `90s`, `15min`, `1h 30min`, `250ms`.
    public var description: String {
        if microseconds == 0 { return "0" }
        var rest = microseconds
        var parts: [String] = []
        for (names, micros) in [
            (["w"], 604_800_000_000 as UInt64), (["d"], 86_400_000_000), (["h"], 3_600_000_000),
            (["min"], 60_000_000), (["s"], 1_000_000), (["ms"], 1_000), (["us"], 1),
        ]
        where rest >= micros {
            parts.append("\(rest / micros)\(names[0])")
            rest %= micros
        }
        return parts.joined(separator: " ")
    }
}
