import SystemCalls
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct ParallelWorkersTests {
    /// A thread limited to one CPU (as `taskset -c N` or a one-CPU cpuset limits a process) is given one CPU's worth
    /// of workers, not one per online CPU; its whole mask again gives back what it gave before.
    @Test func availableCPUsFollowsTheAffinityMask() throws {
        let before = try #require(ThreadAffinity.current)
        let online = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #expect(before.count >= 1)
        #expect(ParallelWorkers.availableCPUs == min(online, before.count))
        // Only the lowest CPU the mask allows: its byte, with every bit above the lowest cleared.
        var one = ThreadAffinity(mask: [UInt8](repeating: 0, count: before.mask.count))
        let index = try #require(before.mask.firstIndex { $0 != 0 })
        one.mask[index] = before.mask[index] & (0 &- before.mask[index])
        #expect(one.count == 1)
        try one.apply()
        let limited = ParallelWorkers.availableCPUs
        let applied = ThreadAffinity.current
        try before.apply()
        #expect(applied == one)
        #expect(limited == 1)
        #expect(ParallelWorkers.availableCPUs == min(online, before.count))
    }
}
