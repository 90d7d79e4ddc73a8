import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Time for the capture: a monotonic stopwatch and UTC timestamps, without Foundation.
public enum CaptureClock {
    /// Monotonic nanoseconds (`CLOCK_MONOTONIC`).
    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        // Sound because the local `now` is filled in place.
        unsafe clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Seconds since the epoch (`CLOCK_REALTIME`).
    public static func epochSeconds() -> Int64 {
        var now = timespec()
        // Sound because the local `now` is filled in place.
        unsafe clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }

    /// `seconds` since the epoch as ISO 8601 UTC (`2025-05-20T10:15:00Z`).
    public static func utcText(_ seconds: Int64) -> String { UTCTime.iso8601(seconds) }
}
