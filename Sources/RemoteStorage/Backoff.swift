import SystemCalls

/// Exponential backoff with jitter: try, and after a transient failure wait 1 s, 2 s, 4 s ... (each drawn between
/// `jitterFloor` (half) and all of that, so a fleet rebooting together does not retry in lockstep). Requests retry
/// through `run`; the service's upload rounds ask `wait(after:)` between rounds.
public struct Backoff {
    package var attempts: Int
    package var base: Double = 1
    package var cap: Double = 60
    /// The least share of the ceiling a wait is (the rest is drawn at random).
    package var jitterFloor: Double = 0.5
    /// Where waits go (a test records them instead of sleeping).
    package var sleep: (Double) -> Void = { seconds in DetachedThread.sleep(seconds: min(seconds, 4000)) }
    /// Told about each failure that will be retried: (attempt number, error, seconds to wait).
    package var onRetry: (Int, UploadError, Double) -> Void = { _, _, _ in }

    /// Backoff for rounds of work rather than requests: `base` seconds after the first failure, doubled per failure
    /// up to `cap`, each wait at least `jitterFloor` of that.
    public init(base: Double, cap: Double, jitterFloor: Double) {
        self.init(attempts: .max, base: base, cap: cap, jitterFloor: jitterFloor)
    }

    package init(attempts: Int, base: Double = 1, cap: Double = 60, jitterFloor: Double = 0.5) {
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self.jitterFloor = jitterFloor
    }

    /// The wait after failure number `attempt` (1-based), before jitter.
    package func ceiling(after attempt: Int) -> Double { min(cap, base * Double(1 << min(max(attempt, 1) - 1, 30))) }

    /// The seconds to wait after failure number `attempt` (1-based), jitter included.
    public func wait(after attempt: Int) -> Double {
        let ceiling = ceiling(after: attempt)
        return ceiling * jitterFloor + Double.random(in: 0...(ceiling * (1 - jitterFloor)))
    }

    /// Runs `body` until it succeeds, fails with a permanent error, or `attempts` are used up.
    package func run<T>(_ body: () throws(UploadError) -> T) throws(UploadError) -> T {
        var attempt = 1
        while true {
            do { return try body() } catch {
                guard error.isTransient, attempt < attempts else { throw error }
                let wait = wait(after: attempt)
                onRetry(attempt, error, wait)
                sleep(wait)
                attempt += 1
            }
        }
    }
}
