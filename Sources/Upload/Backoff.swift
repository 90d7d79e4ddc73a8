import SystemCalls

/// Exponential backoff with jitter: try, and after a transient failure wait 1 s, 2 s, 4 s ... (each drawn between
/// half and all of that, so a fleet rebooting together does not retry in lockstep).
struct Backoff {
    var attempts: Int
    var base: Double = 1
    var cap: Double = 60
    /// Where waits go (a test records them instead of sleeping).
    var sleep: (Double) -> Void = { seconds in DetachedThread.sleep(seconds: min(seconds, 4000)) }
    /// Told about each failure that will be retried: (attempt number, error, seconds to wait).
    var onRetry: (Int, UploadError, Double) -> Void = { _, _, _ in }

    /// The wait after failure number `attempt` (1-based), before jitter.
    func ceiling(after attempt: Int) -> Double { min(cap, base * Double(1 << min(attempt - 1, 30))) }

    /// Runs `body` until it succeeds, fails with a permanent error, or `attempts` are used up.
    func run<T>(_ body: () throws(UploadError) -> T) throws(UploadError) -> T {
        var attempt = 1
        while true {
            do { return try body() } catch {
                guard error.isTransient, attempt < attempts else { throw error }
                let ceiling = ceiling(after: attempt)
                let wait = ceiling / 2 + Double.random(in: 0...(ceiling / 2))
                onRetry(attempt, error, wait)
                sleep(wait)
                attempt += 1
            }
        }
    }
}
