import KernelInterfaces
import SystemCalls
import TestSupport
import Testing

@Suite struct ReservationTests {
    @Test func readsSizeLoadedAndRanges() throws {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        try fixture.write("/sys/kernel/kexec_crash_size", "268435456\n")
        try fixture.write("/sys/kernel/kexec_crash_loaded", "1\n")
        try fixture.write("/proc/iomem", "00100000-7ffdffff : System RAM\n  6f000000-7effffff : Crash kernel\n")
        let reservation = try CrashReservation.read(root: fixture.root)
        #expect(reservation.size == 256 << 20)
        #expect(reservation.loaded)
        #expect(
            reservation.ranges == [IOMemRange(start: 0x6f00_0000, end: 0x7eff_ffff, name: "Crash kernel", depth: 1)])
    }

    @Test func missingFilesMeanNoReservation() throws {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        let reservation = try CrashReservation.read(root: fixture.root)
        #expect(reservation == CrashReservation(size: 0, ranges: [], loaded: false))
        #expect(!reservation.isReserved)
    }

    @Test func garbageSizeNamesFileAndValue() throws {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        try fixture.write("/sys/kernel/kexec_crash_size", "lots\n")
        let error = try #require(throws: KernelFileError.self) { try CrashReservation.read(root: fixture.root) }
        #expect(
            error.description
                == "\(fixture.path)/sys/kernel/kexec_crash_size: expected an unsigned decimal integer, found \"lots\"")
    }

    @Test func loadedMustBeZeroOrOne() throws {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        try fixture.write("/sys/kernel/kexec_crash_loaded", "2\n")
        let error = try #require(throws: KernelFileError.self) { try CrashReservation.isLoaded(root: fixture.root) }
        #expect(error.description == "\(fixture.path)/sys/kernel/kexec_crash_loaded: expected 0 or 1, found \"2\"")
    }

    @Test(arguments: [
        ("[none] integrity confidentiality\n", LockdownMode.none),
        ("none [integrity] confidentiality\n", .integrity),
        ("none integrity [confidentiality]\n", .confidentiality),
    ])
    func lockdownModeInBrackets(text: String, mode: LockdownMode) throws {
        #expect(try LockdownMode(parsing: text) == mode)
    }

    @Test func lockdownWithoutBracketsIsAnError() {
        #expect(
            throws: KernelFileError(
                path: "/sys/kernel/security/lockdown",
                expected: "a list of modes with the current one in brackets, e.g. \"[none] integrity\"",
                found: "none integrity")
        ) { try LockdownMode(parsing: "none integrity\n") }
    }

    @Test func lockdownAbsentReadsNone() throws {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        #expect(try LockdownMode.read(root: fixture.root) == .none)
        try fixture.write("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
        #expect(try LockdownMode.read(root: fixture.root) == .integrity)
    }

    @Test func crashHotplugFlags() throws {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        try fixture.write("/sys/devices/system/cpu/crash_hotplug", "1\n")
        try fixture.write("/sys/devices/system/memory/crash_hotplug", "0\n")
        let hotplug = try CrashHotplug.read(root: fixture.root)
        #expect(hotplug == CrashHotplug(cpu: true, memory: false))
        #expect(!hotplug.cpuEventNeedsReload)
        #expect(hotplug.memoryEventNeedsReload)
    }

    @Test func releaseMatchesProcfs() throws {
        let procfs = try FileSystem.readText("/proc/sys/kernel/osrelease")
        #expect(try KernelRelease.current() + "\n" == procfs)
    }

    @Test func capabilitiesFromStatus() throws {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        try fixture.write("/proc/self/status", "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000400000\n")
        let caps = try Capabilities.read(root: fixture.root)
        #expect(caps.has(Capabilities.sysBoot))
        #expect(!caps.has(Capabilities.sysModule))
    }
}
