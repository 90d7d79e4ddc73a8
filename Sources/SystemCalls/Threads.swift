import CShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The closure one new POSIX thread runs, kept alive until it has run.
private final class ThreadBody: @unchecked Sendable {
    // Sound because exactly one thread (the new one) calls `run`, once; its creator does not touch it afterwards.
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Starts a POSIX thread running `body`; returns it, or the `pthread_create` error number.
private func startThread(_ body: @escaping () -> Void) -> Result<pthread_t, SystemError> {
    // Sound because the retained ThreadBody is released exactly once: by the thread, or here if none started.
    let job = unsafe Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let status = unsafe pthread_create(
        &thread, nil,
        { raw in
            unsafe Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, unsafe job)
    guard status == 0 else {
        unsafe Unmanaged<ThreadBody>.fromOpaque(job).release()
        return .failure(SystemError("pthread_create", errno: status))
    }
    return .success(thread)
}

/// A POSIX thread that nobody joins, for work the service runs beside its main loop (uploads), without Foundation.
public enum DetachedThread {
    /// Runs `body` on a new detached thread; throws the `pthread_create` error when no thread can be made.
    public static func start(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let thread = try startThread(body).get()
        pthread_detach(thread)
    }

    /// Sleeps the calling thread for `seconds` (fractions allowed), resuming after signals.
    public static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        let whole = seconds.rounded(.down)
        var request = timespec(tv_sec: Int(min(whole, Double(Int32.max))), tv_nsec: Int((seconds - whole) * 1e9))
        var remaining = timespec()
        // Sound because both timespecs are locals passed in place.
        while unsafe nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// Runs `count` copies of a job at once on POSIX threads (no Foundation, no Swift concurrency runtime needed in
/// the capture kernel): index 0 on the calling thread, the others on new threads, and waits for all of them.
public enum ParallelWorkers {
    /// Calls `body(index)` for every index in `0 ..< count` concurrently; returns when all calls have returned.
    /// Runs a job on the calling thread when a thread cannot be created. The caller joins every thread before it
    /// returns, so what `body` writes under the caller's own synchronisation is visible to it afterwards.
    public static func run(count: Int, _ body: @escaping (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        var threads: [pthread_t] = []
        var inline: [Int] = []
        for index in 1..<count {
            switch startThread({ body(index) }) {
            case .success(let thread): threads.append(thread)
            case .failure: inline.append(index)
            }
        }
        body(0)
        for index in inline { body(index) }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// The CPUs this thread may run on: the online ones (`sysconf(_SC_NPROCESSORS_ONLN)`; in a capture kernel, what
    /// `nr_cpus=` left), or fewer when its affinity mask (`sched_getaffinity`: `taskset`, a cpuset, systemd's
    /// `CPUAffinity=`) allows fewer; at least 1. More threads than that would only take turns on the same CPUs, each
    /// with its own buffers.
    public static var availableCPUs: Int {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard let allowed = ThreadAffinity.current?.count, allowed > 0 else { return online }
        return min(online, allowed)
    }
}

/// A lock with one condition variable (pthread), for threads that wait for each other's progress: `lock`, check the
/// state, `wait` (which gives the lock up until a `broadcast`) while it is not what is needed, `unlock`.
// Sound because the mutex and the condition are allocated and initialised once in init, destroyed and freed only in
// deinit, and never move.
@safe public final class ThreadCondition: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        unsafe mutex = .allocate(capacity: 1)
        unsafe condition = .allocate(capacity: 1)
        unsafe pthread_mutex_init(mutex, nil)
        unsafe pthread_cond_init(condition, nil)
    }

    deinit {
        unsafe pthread_cond_destroy(condition)
        unsafe pthread_mutex_destroy(mutex)
        unsafe condition.deallocate()
        unsafe mutex.deallocate()
    }

    /// Takes the lock.
    public func lock() { unsafe pthread_mutex_lock(mutex) }

    /// Gives the lock up.
    public func unlock() { unsafe pthread_mutex_unlock(mutex) }

    /// With the lock held: gives it up until a `broadcast` (or a spurious wake-up: check again), then holds it again.
    public func wait() { unsafe pthread_cond_wait(condition, mutex) }

    /// Wakes every thread in `wait`.
    public func broadcast() { unsafe pthread_cond_broadcast(condition) }
}

/// The CPUs a thread may run on (`sched_getaffinity`), as a mask of bits: bit i of byte j is CPU 8j + i.
public struct ThreadAffinity: Equatable, Sendable {
    /// 128 bytes from `current`: 1,024 CPUs. On a machine with more possible CPUs the kernel refuses so small a mask
    /// (EINVAL), and `availableCPUs` goes by the online count.
    public var mask: [UInt8]

    public init(mask: [UInt8]) { self.mask = mask }

    /// The calling thread's mask, or nil when the kernel refuses to say.
    public static var current: ThreadAffinity? {
        var mask = [UInt8](repeating: 0, count: 128)
        // Sound because the kernel writes at most `mask.count` bytes into the array's storage.
        let status = unsafe mask.withUnsafeMutableBytes { unsafe oops_thread_affinity($0.baseAddress, $0.count) }
        return status == 0 ? ThreadAffinity(mask: mask) : nil
    }

    /// How many CPUs the mask allows.
    public var count: Int { mask.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// Makes this the calling thread's mask (`sched_setaffinity`).
    public func apply() throws(SystemError) {
        // Sound because the kernel reads at most `mask.count` bytes of the array's storage.
        let status = unsafe mask.withUnsafeBytes { unsafe oops_set_thread_affinity($0.baseAddress, $0.count) }
        if status != 0 { throw SystemError.last("sched_setaffinity") }
    }
}
