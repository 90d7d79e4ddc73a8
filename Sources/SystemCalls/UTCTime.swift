#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// UTC timestamps as text and back, without Foundation (`gmtime_r`, `timegm`).
public enum UTCTime {
    /// The calendar fields of `seconds` since the epoch in UTC; nil when the C library cannot represent them.
    static func fields(_ seconds: Int64) -> tm? {
        // Sound because gmtime_r fills the local `tm`; its `tm_zone` pointer is never read.
        var time = time_t(seconds)
        var parts = unsafe tm()
        return unsafe gmtime_r(&time, &parts) != nil ? parts : nil
    }

    private static func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// `2025-05-20T10:15:00Z` (ISO 8601); the bare number when out of the calendar's range.
    public static func iso8601(_ seconds: Int64) -> String {
        // Sound because only the integer fields of `tm` are read, never its `tm_zone` pointer.
        guard let parts = unsafe fields(seconds) else { return String(seconds) }
        return unsafe "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// Now (`CLOCK_REALTIME`) as `iso8601` writes it.
    public static func nowISO8601() -> String {
        var now = timespec()
        // Sound because the local `now` is filled in place.
        unsafe clock_gettime(CLOCK_REALTIME, &now)
        return iso8601(Int64(now.tv_sec))
    }

    /// `2025-05-20 10:15:00 UTC`, for people.
    public static func text(_ seconds: Int64) -> String {
        // Sound because only the integer fields of `tm` are read, never its `tm_zone` pointer.
        guard let parts = unsafe fields(seconds) else { return String(seconds) }
        return unsafe "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }

    /// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ` (what `iso8601` writes); nil for any other form.
    public static func parseISO8601(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            bytes[19] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        // Sound because only integer fields are set; timegm reads the local `tm` in place.
        var parts = unsafe tm()
        unsafe parts.tm_year = year - 1900
        unsafe parts.tm_mon = month - 1
        unsafe parts.tm_mday = day
        unsafe parts.tm_hour = hour
        unsafe parts.tm_min = minute
        unsafe parts.tm_sec = second
        return unsafe Int64(timegm(&parts))
    }
}
