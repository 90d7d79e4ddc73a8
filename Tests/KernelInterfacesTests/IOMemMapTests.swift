import KernelInterfaces
import SystemCalls
import Testing

@Suite struct IOMemMapTests {
    static let sample = """
        00000000-00000fff : Reserved
        00001000-0009fbff : System RAM
        00100000-7ffdffff : System RAM
          0b000000-0affffff : Crash kernel
          24000000-24e01fff : Kernel code
          25000000-2fffffff : Crash kernel
        7ffe0000-7fffffff : Reserved
        fd000000-fdffffff : PCI Bus 0000:00
          fd000000-fdffffff : 0000:00:02.0
            fd000000-fdffffff : bochs-drm

        """

    @Test func parsesNestedRangesAndFindsCrashKernel() throws {
        let map = try IOMemMap(parsing: Self.sample.replacingFirst("0b000000-0affffff", "0a000000-0affffff"))
        #expect(map.ranges.count == 10)
        #expect(map.ranges[9] == IOMemRange(start: 0xfd00_0000, end: 0xfdff_ffff, name: "bochs-drm", depth: 2))
        let crash = map.crashKernelRanges
        #expect(
            crash == [
                IOMemRange(start: 0x0a00_0000, end: 0x0aff_ffff, name: "Crash kernel", depth: 1),
                IOMemRange(start: 0x2500_0000, end: 0x2fff_ffff, name: "Crash kernel", depth: 1),
            ])
        #expect(crash.map(\.size) == [16 << 20, 176 << 20])
    }

    @Test func reversedRangeIsAnErrorNamingTheLine() {
        #expect(
            throws: KernelFileError(
                path: "/proc/iomem", expected: "\"<hex start>-<hex end> : <name>\"",
                found: "  0b000000-0affffff : Crash kernel", line: 4)
        ) { try IOMemMap(parsing: Self.sample) }
        let error = try? #require(throws: KernelFileError.self) { try IOMemMap(parsing: Self.sample) }
        #expect(
            error?.description
                == "/proc/iomem line 4: expected \"<hex start>-<hex end> : <name>\", found \"  0b000000-0affffff : Crash kernel\""
        )
    }

    @Test func lineWithoutSeparatorIsAnError() {
        #expect(
            throws: KernelFileError(
                path: "x", expected: "\"<hex start>-<hex end> : <name>\"", found: "00000000-00000fff Reserved", line: 2)
        ) { try IOMemMap(parsing: "00001000-0009fbff : System RAM\n00000000-00000fff Reserved\n", path: "x") }
    }
}

extension String {
    func replacingFirst(_ target: String, _ replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
