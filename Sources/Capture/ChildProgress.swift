import DumpFormat
import SystemCalls

/// What procfs says about a capture step's child process: its threads, their states and CPU time, the bytes it has
/// read and written. The parent samples it while the child is silent, to tell a long step from a stuck one, and
/// says where a stuck one's threads wait. Progress is CPU time in user space (compressing, scanning struct pages,
/// reading mapped input) or I/O: time spent only in the kernel without I/O is a thread spinning or waiting there
/// (on a lock, an interrupt, memory reclaim), which is no progress of the step's.
public struct ChildProgress: Equatable, Sendable {
    /// One thread of the child (`/proc/PID/task/TID/stat`).
    public struct Thread: Equatable, Sendable {
        public var id: Int32
        /// `R` running, `S` sleeping, `D` uninterruptible (in the kernel, waiting on a device or a lock), ...
        public var state: Character
        /// Time in user space and in the kernel, in clock ticks.
        public var userTicks: UInt64
        public var systemTicks: UInt64
    }

    public var threads: [Thread]
    /// Bytes passed through read(2)/write(2) family calls (`rchar`, `wchar` of `/proc/PID/io`); 0 when unknown.
    /// Mapped input is not counted: CPU time is the progress of a step that reads through mmap.
    public var readBytes: UInt64
    public var writtenBytes: UInt64

    /// The threads' time in user space and in the kernel in clock ticks, added up.
    public var userTicks: UInt64 { threads.reduce(0) { $0 &+ $1.userTicks } }
    public var systemTicks: UInt64 { threads.reduce(0) { $0 &+ $1.systemTicks } }

    /// Whether `later` shows work done since this sample: CPU time in user space, or I/O.
    public func advanced(to later: ChildProgress) -> Bool {
        later.userTicks != userTicks || later.readBytes != readBytes || later.writtenBytes != writtenBytes
    }

    /// The sample of process `pid` (below `procRoot`), or nil when it is gone or procfs cannot be read.
    public static func sample(of pid: Int32, procRoot: String = "/proc") -> ChildProgress? {
        let base = "\(procRoot)/\(pid)"
        guard let tasks = try? FileSystem.listDirectory(base + "/task") else { return nil }
        var threads: [Thread] = []
        for name in tasks {
            guard let id = Int32(name), let stat = try? FileSystem.readText("\(base)/task/\(name)/stat"),
                let thread = parseStat(stat, id: id)
            else { continue }
            threads.append(thread)
        }
        guard !threads.isEmpty else { return nil }
        var sample = ChildProgress(threads: threads, readBytes: 0, writtenBytes: 0)
        if let io = try? FileSystem.readText(base + "/io") {
            for line in io.split(separator: "\n") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                guard parts.count == 2, let value = UInt64(parts[1]) else { continue }
                if parts[0] == "rchar:" { sample.readBytes = value }
                if parts[0] == "wchar:" { sample.writtenBytes = value }
            }
        }
        return sample
    }

    /// A thread from its stat line: `TID (comm) S ppid ...`, utime and stime being fields 14 and 15. The command
    /// may hold spaces and parentheses: the fields are counted from the last `)`.
    static func parseStat(_ text: String, id: Int32) -> Thread? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 12, let state = fields[0].first, let user = UInt64(fields[11]),
            let system = UInt64(fields[12])
        else { return nil }
        return Thread(id: id, state: state, userTicks: user, systemTicks: system)
    }

    /// One line: `2 threads (R, S), CPU 12.40 s user, 0.31 s kernel, read 1.2 GiB, written 310.0 MiB`.
    public func summary(ticksPerSecond: Int) -> String {
        let states = threads.map { String($0.state) }.joined(separator: ", ")
        func seconds(_ ticks: UInt64) -> String { Self.fixed(Double(ticks) / Double(max(1, ticksPerSecond))) }
        return "\(threads.count) thread\(threads.count == 1 ? "" : "s") (\(states)), "
            + "CPU \(seconds(userTicks)) s user, \(seconds(systemTicks)) s kernel, "
            + "read \(ByteCount.text(readBytes)), written \(ByteCount.text(writtenBytes))"
    }

    /// Where each thread of this sample (of process `pid`) is, one line per thread: its state, the system call it
    /// is in (`/proc/PID/task/TID/syscall`), and the kernel functions it waits in (`wchan`, and the top of `stack`,
    /// which only root can read).
    public func whereThreadsWait(of pid: Int32, procRoot: String = "/proc") -> [String] {
        threads.map { thread in
            let task = "\(procRoot)/\(pid)/task/\(thread.id)"
            var parts = ["thread \(thread.id)", "state \(thread.state)"]
            if let syscall = try? FileSystem.readText(task + "/syscall") {
                parts.append(Self.describeSyscall(syscall))
            }
            if let wchan = try? FileSystem.readText(task + "/wchan"), !wchan.isEmpty, wchan != "0" {
                parts.append("wchan \(wchan)")
            }
            if let stack = try? FileSystem.readText(task + "/stack") {
                let frames = Self.kernelFrames(stack)
                if !frames.isEmpty { parts.append("kernel stack " + frames.prefix(8).joined(separator: " < ")) }
            }
            return parts.joined(separator: ", ")
        }
    }

    /// `/proc/PID/task/TID/syscall` in words: `running`, `in no system call`, or `in system call 202 (futex)`.
    static func describeSyscall(_ text: String) -> String {
        let first = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map(String.init) ?? ""
        if first == "running" { return "running" }
        guard let number = Int(first) else { return "system call unknown" }
        if number < 0 { return "in no system call" }
        return "in system call \(number)" + (syscallName(number).map { " (\($0))" } ?? "")
    }

    /// The names of the calls a capture step waits in (x86_64 numbers).
    static func syscallName(_ number: Int) -> String? {
        #if arch(x86_64)
        let names: [Int: String] = [
            0: "read", 1: "write", 7: "poll", 9: "mmap", 11: "munmap", 17: "pread64", 18: "pwrite64",
            20: "writev", 28: "madvise", 35: "nanosleep", 61: "wait4", 74: "fsync", 75: "fdatasync",
            202: "futex", 230: "clock_nanosleep", 234: "tgkill", 271: "ppoll", 277: "sync_file_range",
            295: "preadv", 296: "pwritev",
        ]
        return names[number]
        #else
        return nil
        #endif
    }

    /// The function names of a kernel stack (`[<0>] futex_wait_queue+0x60/0x90` gives `futex_wait_queue`).
    static func kernelFrames(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let symbol = line.split(separator: " ").last.map { $0.prefix { $0 != "+" } } ?? ""
            return symbol.isEmpty ? nil : String(symbol)
        }
    }

    static func fixed(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
