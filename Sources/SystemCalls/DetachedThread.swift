#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX thread that nobody joins, for work the service runs beside its main loop (uploads), without Foundation.
public enum DetachedThread {
    /// The closure of one thread, kept alive until it has run.
    private final class Body: @unchecked Sendable {
        // Sound because exactly one thread (the new one) calls `run`, once; nothing else reads it after handing over.
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Runs `body` on a new detached thread; throws the `pthread_create` error when no thread can be made.
    public static func start(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let job = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            let job = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            job.run()
            return nil
        }, job)
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(job).release()
            throw SystemError("pthread_create", errno: status)
        }
        pthread_detach(thread)
    }

    /// Sleeps the calling thread for `seconds` (fractions allowed), resuming after signals.
    public static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        let whole = seconds.rounded(.down)
        var request = timespec(tv_sec: Int(min(whole, Double(Int32.max))), tv_nsec: Int((seconds - whole) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
