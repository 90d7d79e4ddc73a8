#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs `count` copies of a job at once on POSIX threads (no Foundation, no Swift concurrency runtime needed in
/// the capture kernel): index 0 on the calling thread, the others on new threads, and waits for all of them.
enum ParallelWorkers {
    /// The job of one thread, kept alive until the thread is joined.
    private final class Job: @unchecked Sendable {
        // Only the one thread it was made for calls `body`, and the caller joins that thread before
        // touching anything `body` writes, so no state is shared unsynchronised.
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Calls `body(index)` for every index in `0 ..< count` concurrently; returns when all calls have returned.
    /// Falls back to running a job on the calling thread when a thread cannot be created.
    static func run(count: Int, _ body: @escaping (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        var threads: [pthread_t] = []
        var inline: [Int] = []
        for index in 1..<count {
            let job = Unmanaged.passRetained(Job { body(index) }).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                job.body()
                return nil
            }, job)
            if status == 0 {
                threads.append(thread)
            } else {
                Unmanaged<Job>.fromOpaque(job).release()
                inline.append(index)
            }
        }
        body(0)
        for index in inline { body(index) }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// The online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`; in a capture kernel, what `nr_cpus=` left), at least 1.
    static var availableCPUs: Int {
        let count = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return max(1, count)
    }
}
