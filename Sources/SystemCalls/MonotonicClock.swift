import CShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// CLOCK_MONOTONIC: time that only moves forward, for deadlines and durations (never for dates).
public enum MonotonicClock {
    /// Microseconds since an arbitrary start (boot).
    public static var microseconds: UInt64 { oops_monotonic_usec() }
}
