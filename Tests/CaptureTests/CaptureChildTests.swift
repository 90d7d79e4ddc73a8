import DumpFormat
import SystemCalls
import TestSupport
import Testing

@testable import Capture

#if canImport(Glibc)
import Glibc
#endif

/// The capture's steps run in child processes: a death there is a fallback, not the end of PID 1. The children
/// here do as little as possible (the test process has threads of its own): raise a signal, allocate, sleep.
@Suite struct CaptureChildTests {
    /// The lines a child reported.
    final class Lines {
        var all: [String] = []
        func record(_ line: String) { all.append(line) }
        static func ignore(_ line: String) {}
    }

    static let limits = CaptureChild.Limits(dataBytes: nil, seconds: 30)

    @Test func linesArriveAndTheExitStatusIsKept() {
        let lines = Lines()
        let ending = CaptureChild.run(limits: Self.limits, onLine: lines.record) { pipe in
            CaptureChild.report("log first", to: pipe)
            CaptureChild.report("two\nlines", to: pipe)
            return 3
        }
        #expect(ending == .exited(3))
        #expect(ending.failure == "exited with status 3")
        #expect(lines.all == ["log first", "two lines"])
    }

    @Test func aDeathBySignalIsReportedWithWhatWasSaidBefore() {
        let lines = Lines()
        let ending = CaptureChild.run(limits: Self.limits, onLine: lines.record) { pipe in
            CaptureChild.report("step walking struct pages", to: pipe)
            raise(SIGSEGV)
            return 0
        }
        #expect(ending == .signaled(SIGSEGV))
        #expect(ending.failure == "killed by signal \(SIGSEGV) (SIGSEGV)")
        #expect(lines.all == ["step walking struct pages"])
    }

    @Test func aSwiftTrapKillsOnlyTheChild() {
        let ending = CaptureChild.run(limits: Self.limits, onLine: Lines.ignore) { _ in
            let values = [1, 2, 3]
            return Int32(values[Int(getpid() & 0) + 3])  // out of range: the trap a wild index from a dump causes
        }
        guard case .signaled(let signal) = ending else {
            Issue.record("expected a death by signal, got \(ending)")
            return
        }
        #expect(signal == SIGTRAP || signal == SIGILL)
    }

    @Test func theMemoryLimitRefusesAnAllocationBeyondIt() {
        // 256 MiB more than the process has: within the limit of no limit, beyond a limit of its size + 64 MiB.
        let size = 256 << 20
        let data = SystemMemory.childDataLimitBytes(reserveKiB: 0, minimumKiB: 64 << 10, meminfoPath: "/dev/null")
        #expect(data == nil)  // no MemAvailable: no limit computed
        let current = SystemMemory.childDataLimitBytes(reserveKiB: 1 << 40, minimumKiB: 64 << 10)!
        for (limit, expected) in [(UInt64?.none, Int32(0)), (current, Int32(7))] {
            let ending = CaptureChild.run(limits: .init(dataBytes: limit, seconds: 30), onLine: Lines.ignore) { _ in
                guard let block = malloc(size) else { return 7 }
                free(block)
                return 0
            }
            #expect(ending == .exited(expected), "limit \(String(describing: limit))")
        }
    }

    @Test func aChildPastItsTimeIsKilled() {
        let start = CaptureClock.monotonicNanoseconds()
        let ending = CaptureChild.run(limits: .init(dataBytes: nil, seconds: 1), onLine: Lines.ignore) { _ in
            while true { sleep(1) }
        }
        #expect(ending == .timedOut(seconds: 1))
        #expect(ending.failure == "still running after its time limit of 1 s, killed")
        #expect(CaptureClock.monotonicNanoseconds() - start < 10_000_000_000)
    }

    @Test func aChildThatMakesNoProgressIsKilledAndWhereItWaitsIsSaid() {
        let notices = Lines()
        let start = CaptureClock.monotonicNanoseconds()
        let ending = CaptureChild.run(
            limits: .init(dataBytes: nil, seconds: 30, stallSeconds: 2), onLine: Lines.ignore,
            onNotice: notices.record
        ) { pipe in
            CaptureChild.report("step waiting for nothing", to: pipe)
            while true { sleep(1) }
        }
        let elapsed = CaptureClock.monotonicNanoseconds() - start
        #expect(ending == .stalled(seconds: 2))
        #expect(
            ending.failure == "made no progress for 2 s (no CPU time in user space, no I/O, nothing reported), killed")
        #expect(elapsed >= 2_000_000_000 && elapsed < 10_000_000_000, "\(elapsed) ns")
        let stuck = notices.all.first { $0.hasPrefix("no progress for ") }
        #expect(stuck?.contains("1 thread (S), CPU 0.00 s user, ") == true, "\(notices.all)")
        // Where the one thread waits: asleep in the kernel, in the sleep call.
        let thread = notices.all.first { $0.hasPrefix("  thread ") }
        #expect(thread?.contains(", state S, in system call ") == true, "\(notices.all)")
        #if arch(x86_64)
        #expect(thread?.contains("(clock_nanosleep)") == true || thread?.contains("(nanosleep)") == true)
        #endif
    }

    @Test func aStuckChildHasTheKernelAskedForItsViewWhereThatIsWanted() throws {
        // In the capture kernel the file is /proc/sysrq-trigger; here a plain file records what was written.
        let scratch = try TemporaryDirectory("sysrq")
        let trigger = try scratch.write("sysrq-trigger", [])
        let notices = Lines()
        let ending = CaptureChild.run(
            limits: .init(dataBytes: nil, seconds: 30, stallSeconds: 1, sysrqTrigger: trigger), onLine: Lines.ignore,
            onNotice: notices.record
        ) { _ in
            while true { sleep(1) }
        }
        #expect(ending == .stalled(seconds: 1))
        #expect(try FileSystem.readText(trigger) == "wl")
        #expect(
            notices.all.last
                == "the kernel's blocked tasks and CPU backtraces (sysrq w, l) are on the console above")
        // Without the file: no such line.
        let plain = Lines()
        _ = CaptureChild.run(
            limits: .init(dataBytes: nil, seconds: 30, stallSeconds: 1), onLine: Lines.ignore, onNotice: plain.record
        ) { _ in
            while true { sleep(1) }
        }
        #expect(!plain.all.contains { $0.contains("sysrq") })
    }

    @Test func aSilentChildThatWorksIsNotStuck() {
        let notices = Lines()
        let ending = CaptureChild.run(
            limits: .init(dataBytes: nil, seconds: 30, stallSeconds: 1), onLine: Lines.ignore,
            onNotice: notices.record
        ) { _ in
            // Three seconds of CPU time and no word: progress the parent sees in /proc only.
            let end = CaptureClock.monotonicNanoseconds() + 3_000_000_000
            var spins: UInt64 = 0
            while CaptureClock.monotonicNanoseconds() < end { spins &+= 1 }
            return spins > 0 ? 0 : 1
        }
        #expect(ending == .exited(0), "\(notices.all)")
        #expect(notices.all.contains { $0.hasPrefix("still running, silent for ") && $0.contains("1 thread (R)") })
        #expect(!notices.all.contains { $0.hasPrefix("no progress") })
    }

    @Test func procfsLinesAreRead() {
        // A command with spaces and parentheses: fields count from the last ')'.
        let stat = "4242 (a) (b) c) D 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 2 0 99 0 0"
        #expect(ChildProgress.parseStat(stat, id: 4242) == .init(id: 4242, state: "D", userTicks: 250, systemTicks: 75))
        #expect(ChildProgress.parseStat("4242 (x) R 1", id: 4242) == nil)
        #expect(ChildProgress.describeSyscall("running\n") == "running")
        #expect(ChildProgress.describeSyscall("-1 0x7ffd 0x4012\n") == "in no system call")
        #if arch(x86_64)
        #expect(
            ChildProgress.describeSyscall("202 0x1 0x80 0x0 0x0 0x0 0x0 0x7f 0x7f\n") == "in system call 202 (futex)")
        #endif
        #expect(ChildProgress.describeSyscall("9999 0x1\n") == "in system call 9999")
        let stack = "[<0>] futex_wait_queue+0x60/0x90\n[<0>] __futex_wait+0x148/0x1c0\n[<0>] do_syscall_64+0x82/0x190\n"
        #expect(ChildProgress.kernelFrames(stack) == ["futex_wait_queue", "__futex_wait", "do_syscall_64"])
        let sample = ChildProgress(
            threads: [
                .init(id: 1, state: "R", userTicks: 1240, systemTicks: 31),
                .init(id: 2, state: "S", userTicks: 0, systemTicks: 0),
            ],
            readBytes: 1 << 30 + 1 << 29, writtenBytes: 310 << 20)
        #expect(
            sample.summary(ticksPerSecond: 100)
                == "2 threads (R, S), CPU 12.40 s user, 0.31 s kernel, read 1.5 GiB, written 310.0 MiB")
        var later = sample
        #expect(!sample.advanced(to: later))
        // Time only in the kernel is a thread spinning or waiting there: no progress.
        later.threads[0].systemTicks += 500
        #expect(!sample.advanced(to: later))
        later.threads[1].userTicks += 1
        #expect(sample.advanced(to: later))
        later = sample
        later.writtenBytes += 1
        #expect(sample.advanced(to: later))
    }

    @Test func aStuckAttemptIsTriedAgainOnOneThread() {
        let chain = MemoryAttempt.chain(level: DumpLevel(31)!, format: .kdump)
        let retry = chain[0].onOneThread(after: 2)
        #expect(retry?.summary == "dump level 31 on one thread")
        #expect(retry?.level.applied == 31)
        #expect(retry?.onOneThread(after: 1) == nil)  // stuck on one thread too: next in the chain
        #expect(chain[0].onOneThread(after: 1) == nil)
        #expect(
            chain[1].onOneThread(after: 4)?.summary
                == "dump level 1 without the struct page walk (zero pages only) on one thread")
        #expect(chain[2].onOneThread(after: 4) == nil)  // a plain copy has no threads to give up
    }

    @Test func theFallbackChainGoesFromFilteredToPlain() {
        let chain = MemoryAttempt.chain(level: DumpLevel(31)!, format: .kdump)
        #expect(
            chain.map(\.summary) == [
                "dump level 31", "dump level 1 without the struct page walk (zero pages only)",
                "a plain copy of every PT_LOAD (ELF, dump level 0)",
            ])
        #expect(chain.map(\.format) == [.kdump, .kdump, .elf])
        #expect(chain.map(\.level.applied) == [31, 1, 0])
        // No walk asked for: nothing to take out before the plain copy.
        #expect(MemoryAttempt.chain(level: DumpLevel(1)!, format: .elf).map(\.level.applied) == [1, 0])
        #expect(
            MemoryAttempt.chain(level: DumpLevel(16)!, format: .elf).map(\.summary) == [
                "dump level 16", "dump level 0 without the struct page walk",
                "a plain copy of every PT_LOAD (ELF, dump level 0)",
            ])
    }
}
