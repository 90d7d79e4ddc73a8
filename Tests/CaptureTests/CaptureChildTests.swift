import Capture
import DumpFormat
import SystemCalls
import Testing

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
