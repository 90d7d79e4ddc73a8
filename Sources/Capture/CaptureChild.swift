import CShim
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One step of the capture in a child process, so that a trap, a runaway allocation or an endless loop on values
/// from the crashed kernel costs that step, not PID 1 (whose death panics the capture kernel and loses the dump).
///
/// The child gets a memory limit (`RLIMIT_DATA`, no core file, the OOM killer's first pick) and a deadline after
/// which it is killed; it reports back through a pipe. The parent waits, reaps and says how the step ended.
public enum CaptureChild {
    /// What a child may use.
    public struct Limits: Equatable, Sendable {
        /// `RLIMIT_DATA` in bytes (nil: unlimited).
        public var dataBytes: UInt64?
        /// Seconds until the child is killed.
        public var seconds: UInt64
        /// Seconds without progress (no CPU time in user space, no I/O, no report line: `ChildProgress`) after which
        /// the child is stuck: where its threads wait is logged and it is killed (nil: only `seconds` ends it). While
        /// it is silent but working, a progress line is logged every half of this.
        public var stallSeconds: UInt64?
        /// Where to ask the kernel, when the child is stuck, to print its blocked tasks and every CPU's backtrace to
        /// the console (`w`, then `l`): /proc/sysrq-trigger in a capture kernel, where the console is all there is
        /// and a thread running in the kernel shows no stack in procfs; nil: not at all.
        public var sysrqTrigger: String?

        public init(dataBytes: UInt64?, seconds: UInt64, stallSeconds: UInt64? = nil, sysrqTrigger: String? = nil) {
            self.dataBytes = dataBytes
            self.seconds = seconds
            self.stallSeconds = stallSeconds
            self.sysrqTrigger = sysrqTrigger
        }
    }

    /// How a child ended.
    public enum Ending: Equatable, Sendable {
        /// It exited with this status.
        case exited(Int32)
        /// A signal killed it (a trap is SIGTRAP or SIGILL, an out-of-range access SIGSEGV or SIGBUS).
        case signaled(Int32)
        /// It was still running at its deadline and was killed.
        case timedOut(seconds: UInt64)
        /// It made no progress for this long and was killed.
        case stalled(seconds: UInt64)
        /// fork(2) failed.
        case notStarted(String)

        /// Why the step failed, for warnings and metadata; nil for exit status 0.
        public var failure: String? {
            switch self {
            case .exited(0): return nil
            case .exited(let status): return "exited with status \(status)"
            case .signaled(let signal): return "killed by signal \(signal) (\(CaptureChild.signalName(signal)))"
            case .timedOut(let seconds): return "still running after its time limit of \(seconds) s, killed"
            case .stalled(let seconds):
                return "made no progress for \(seconds) s (no CPU time in user space, no I/O, nothing reported), killed"
            case .notStarted(let reason): return "could not be started: \(reason)"
            }
        }
    }

    /// The longest report line kept (a metadata object is a few KiB); longer lines are cut.
    public static let lineLimit = 1 << 20

    /// Runs `body` in a child process under `limits`. `body` reports by writing lines to the descriptor it is given
    /// (`report(_:to:)`) and returns the exit status; the parent hands each line to `onLine` as it arrives, so what
    /// a child said before it died is not lost. Returns when the child is gone (exited, killed by a signal, or
    /// killed at its deadline) and reaped. `onNotice` gets the parent's own lines about the child: its progress while
    /// it is silent, where its threads wait when it is stuck.
    public static func run(
        limits: Limits, onLine: (String) -> Void, onNotice: (String) -> Void = { _ in },
        _ body: (FileDescriptor) -> Int32
    ) -> Ending {
        var ends: [Int32] = [-1, -1]
        // Sound because pipe2 fills the two-element local `ends`.
        guard unsafe oops_pipe_cloexec(&ends) == 0 else {
            return .notStarted("\(SystemError("pipe2", errno: oops_errno()))")
        }
        let pid = oops_fork()
        if pid < 0 {
            let error = SystemError("fork", errno: oops_errno())
            close(ends[0])
            close(ends[1])
            return .notStarted("\(error)")
        }
        if pid == 0 {
            close(ends[0])
            prepareChild(limits)
            let status = body(FileDescriptor(rawValue: ends[1], path: "report pipe"))
            // _exit: no atexit handlers or stdio buffers of the parent's are run twice.
            _exit(status)
        }
        close(ends[1])
        defer { close(ends[0]) }
        let nanoseconds = limits.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let deadline = CaptureClock.monotonicNanoseconds().addingReportingOverflow(
            nanoseconds.overflow ? UInt64.max : nanoseconds.partialValue)
        return wait(
            for: pid, reading: ends[0], deadline: deadline.overflow ? UInt64.max : deadline.partialValue,
            limits: limits, onLine: onLine, onNotice: onNotice)
    }

    /// Writes one report line (newlines in `text` become spaces) to `fd`, in the child.
    public static func report(_ text: String, to fd: FileDescriptor) {
        var bytes = Array(text.utf8).map { $0 == 0x0a ? 0x20 : $0 }
        bytes.append(0x0a)
        try? fd.writeAll(bytes)
    }

    /// In the child: the watchdog's alarm handler is the parent's business; default fault handling; limits; first in
    /// line for the OOM killer.
    private static func prepareChild(_ limits: Limits) {
        signal(SIGALRM, SIG_DFL)
        alarm(0)
        // A fault ends the child at once, whatever handler the parent installed (a crash reporter or backtracer
        // would only spend the reservation's memory and time); the parent names the signal.
        for fatal in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] { signal(fatal, SIG_DFL) }
        if oops_limit_child(limits.dataBytes ?? UInt64.max) != 0 {
            let text = Array(
                "oopsd-capture: cannot limit the child's memory: \(SystemError("setrlimit", errno: oops_errno()))\n"
                    .utf8)
            // Sound because write(2) reads at most the borrowed text's count bytes; the path and "1000" are C literals.
            unsafe text.withUnsafeBytes { _ = unsafe write(2, $0.baseAddress, $0.count) }
        }
        let fd = unsafe open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = unsafe write(fd, "1000", 4)
            close(fd)
        }
    }

    /// Hands the report's lines to `onLine` while waiting; kills the child at `deadline`, or when it is stuck.
    private static func wait(
        for pid: pid_t, reading fd: Int32, deadline: UInt64, limits: Limits, onLine: (String) -> Void,
        onNotice: (String) -> Void
    ) -> Ending {
        var watch = limits.stallSeconds.map {
            StallWatch(pid: pid, stallSeconds: $0, sysrqTrigger: limits.sysrqTrigger)
        }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var pipeOpen = true
        /// Reads what is in the pipe now (waiting up to `milliseconds` for it); false at end of file or error.
        func drain(waiting milliseconds: Int32) -> Bool {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            // Sound because poll gets one local pollfd; read fills at most the borrowed `chunk`'s count bytes.
            guard unsafe poll(&poller, 1, milliseconds) > 0 else { return true }
            let got = unsafe chunk.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, $0.count) }
            if got < 0 { return errno == EINTR || errno == EAGAIN }
            if got == 0 { return false }
            pending.append(contentsOf: chunk[0..<got])
            while let newline = pending.firstIndex(of: 0x0a) {
                watch?.heard()
                onLine(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
            if pending.count > lineLimit { pending.removeAll() }
            return true
        }
        var status: Int32 = 0
        var killedAs: Ending?
        // After the pipe's end of file the child is exiting: it is looked for again soon, then less often.
        var pause: UInt32 = 500
        while true {
            // Sound because waitpid and the status decoder only fill locals passed in place.
            let reaped = unsafe waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { break }
            let now = CaptureClock.monotonicNanoseconds()
            let timedOut = now >= deadline
            if timedOut || watch?.isStuck(at: now, notice: onNotice) == true {
                killedAs = timedOut ? .timedOut(seconds: limits.seconds) : .stalled(seconds: limits.stallSeconds ?? 0)
                kill(pid, SIGKILL)
                if !reap(pid, status: &status, within: 10) {
                    onNotice("the child \(pid) did not end within 10 s of SIGKILL; going on without it")
                }
                break
            }
            if pipeOpen {
                pipeOpen = drain(waiting: 100)
            } else {
                usleep(pause)
                pause = min(pause * 2, 20_000)
            }
        }
        // What the child wrote before it ended is still in the pipe (bounded: the pipe holds at most 1 MiB).
        var rounds = 0
        while pipeOpen && rounds < 64 {
            pipeOpen = drain(waiting: 0)
            rounds += 1
        }
        if let killedAs { return killedAs }
        var code: Int32 = 0
        var signal: Int32 = 0
        switch unsafe oops_wait_status(status, &code, &signal) {
        case 1: return .exited(code)
        case 2: return .signaled(signal)
        default: return .exited(-1)
        }
    }

    /// Waits up to `seconds` for `pid` to end (a thread stuck in the kernel may not die at once); whether it did.
    private static func reap(_ pid: pid_t, status: inout Int32, within seconds: UInt64) -> Bool {
        let end = CaptureClock.monotonicNanoseconds() &+ seconds * 1_000_000_000
        while true {
            // Sound because waitpid only fills `status`, borrowed for the call.
            let reaped = unsafe waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno != EINTR) { return true }
            if CaptureClock.monotonicNanoseconds() >= end { return false }
            usleep(20_000)
        }
    }

    /// The parent's watch on a silent child: samples its progress, logs it every half stall period of silence, and
    /// says when it made none for a whole stall period (after logging where its threads wait).
    struct StallWatch {
        let pid: pid_t
        let sysrqTrigger: String?
        let stallNanoseconds: UInt64
        let sampleNanoseconds: UInt64
        let ticksPerSecond = max(1, Int(sysconf(Int32(_SC_CLK_TCK))))
        var lastSample: ChildProgress?
        var nextSampleAt: UInt64
        var progressAt: UInt64
        var silentSince: UInt64
        var noticeAt: UInt64

        init(pid: pid_t, stallSeconds: UInt64, sysrqTrigger: String? = nil) {
            self.pid = pid
            self.sysrqTrigger = sysrqTrigger
            let started = CaptureClock.monotonicNanoseconds()
            stallNanoseconds = max(1, stallSeconds) * 1_000_000_000
            sampleNanoseconds = min(5_000_000_000, stallNanoseconds / 4)
            nextSampleAt = started &+ sampleNanoseconds
            progressAt = started
            silentSince = started
            noticeAt = started &+ stallNanoseconds / 2
        }

        /// The child reported a line: that is progress, and it is not silent.
        mutating func heard() {
            let now = CaptureClock.monotonicNanoseconds()
            progressAt = now
            silentSince = now
            noticeAt = now &+ stallNanoseconds / 2
        }

        /// Samples the child when due; true when it has made no progress for the stall period.
        mutating func isStuck(at now: UInt64, notice: (String) -> Void) -> Bool {
            guard now >= nextSampleAt else { return false }
            nextSampleAt = now &+ sampleNanoseconds
            guard let sample = ChildProgress.sample(of: pid) else { return false }
            if lastSample.map({ $0.advanced(to: sample) }) ?? true { progressAt = now }
            lastSample = sample
            if now >= noticeAt {
                noticeAt = now &+ stallNanoseconds / 2
                notice(
                    "still running, silent for \((now - silentSince) / 1_000_000_000) s: "
                        + sample.summary(ticksPerSecond: ticksPerSecond))
            }
            guard now - progressAt >= stallNanoseconds else { return false }
            notice(
                "no progress for \((now - progressAt) / 1_000_000_000) s: "
                    + sample.summary(ticksPerSecond: ticksPerSecond))
            for line in sample.whereThreadsWait(of: pid) { notice("  " + line) }
            if let sysrqTrigger {
                let written = ["w", "l"].filter { command in
                    guard let fd = try? FileDescriptor.open(sysrqTrigger, [.writeOnly, .append]) else { return false }
                    defer { try? fd.close() }
                    return (try? fd.writeAll(Array(command.utf8))) != nil
                }
                notice(
                    written.isEmpty
                        ? "could not write to \(sysrqTrigger) for the kernel's view"
                        : "the kernel's blocked tasks and CPU backtraces (sysrq \(written.joined(separator: ", "))) "
                            + "are on the console above")
            }
            return true
        }
    }

    /// The name of the signals a failing capture dies of.
    public static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGSEGV: return "SIGSEGV"
        case SIGBUS: return "SIGBUS"
        case SIGILL: return "SIGILL"
        case SIGTRAP: return "SIGTRAP"
        case SIGABRT: return "SIGABRT"
        case SIGFPE: return "SIGFPE"
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        case SIGXCPU: return "SIGXCPU"
        default: return "signal \(signal)"
        }
    }
}
