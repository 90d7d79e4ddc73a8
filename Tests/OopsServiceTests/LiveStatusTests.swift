import SystemCalls
import TestSupport
import Testing

@testable import OopsService

/// `oopsctl status` during a re-arm: the service's record and the kernel's flag read together.
@Suite struct LiveStatusTests {
    static let armed = ServiceStatus(
        armed: true, message: "armed: 6.1.0-56-amd64, initramfs 3291 KiB, dumps to /var/crash", pid: 700, sequence: 3)

    /// Replays what a reader sees, one value per call.
    final class Script<Value> {
        var values: [Value]
        init(_ values: [Value]) { self.values = values }
        func next() -> Value { values.count > 1 ? values.removeFirst() : values[0] }
    }

    @Test func theServiceRecordsItsArmingWhileTheKernelIsLoaded() throws {
        let directory = try TemporaryDirectory("service")
        let root = HostRoot(directory.path)
        let arming = FakeArming()
        var seen: [ServiceStatus?] = []
        arming.whileArming = { seen.append(try? ServiceStatus.read(root: root)) }
        let daemon = OopsDaemon(root: root, journal: RecordingLog(), arming: arming)
        daemon.reload(reason: "start")
        daemon.reload(reason: "a watched file changed")
        #expect(seen.map { $0?.arming } == ["start", "a watched file changed"])
        #expect(seen.map { $0?.armed } == [false, true], "the second arming starts from an armed machine")
        let after = try #require(try ServiceStatus.read(root: root))
        #expect(after.arming == nil)
        #expect(after.armed)
        // Each write counts, so a reader can tell the record before a re-arm from the one after it.
        #expect(seen.map { $0?.sequence } == [1, 3])
        #expect(after.sequence == 4)
    }

    @Test func aReArmInTheKernelsWindowSaysReArmingNotUnloadedOutside() {
        var rearming = Self.armed
        rearming.arming = "a watched file changed"
        rearming.sequence = 4
        // The service wrote "arming" between the first record and the flag; the flag says unloaded.
        let records = Script<ServiceStatus?>([Self.armed, rearming, rearming])
        let live = LiveStatus.read(record: records.next, loaded: { false })
        #expect(live.recorded == rearming)
        #expect(!live.loaded)
        #expect(
            live.message(reserved: true, isRunning: { $0 == 700 })
                == "not armed for a moment: oopsd is re-arming (a watched file changed) and loads the new capture kernel"
        )
        #expect(
            LiveStatus(recorded: rearming, loaded: true).message(reserved: true, isRunning: { $0 == 700 })
                == "armed; oopsd is re-arming (a watched file changed)")
    }

    @Test func aReArmThatEndsBetweenTheReadsIsReadAgain() {
        // The whole re-arm ran between the two reads: same values, a later sequence; the flag read in between
        // (0, the kernel's window) must not be taken with the record that says armed.
        var rearmed = Self.armed
        rearmed.sequence = 5
        let records = Script<ServiceStatus?>([Self.armed, rearmed, rearmed])
        let flags = Script([false, true])
        let live = LiveStatus.read(record: records.next, loaded: flags.next)
        #expect(live == LiveStatus(recorded: rearmed, loaded: true))
        #expect(live.message(reserved: true) == "armed: 6.1.0-56-amd64, initramfs 3291 KiB, dumps to /var/crash")
    }

    @Test func anUnloadByAnotherProgramIsStillNamed() {
        let live = LiveStatus.read(record: { Self.armed }, loaded: { false })
        #expect(
            live.message(reserved: true, isRunning: { _ in true })
                == "not armed: the capture kernel was unloaded outside oopsd")
    }

    @Test func aServiceThatDiedWhileArmingIsNamed() {
        var rearming = Self.armed
        rearming.arming = "SIGHUP"
        #expect(
            LiveStatus(recorded: rearming, loaded: false).message(reserved: true, isRunning: { _ in false })
                == "not armed: oopsd (pid 700) ended while re-arming (SIGHUP); start it again (systemctl restart oopsd)"
        )
        var starting = ServiceStatus(armed: false, message: "starting", pid: 701, arming: "start", sequence: 1)
        #expect(
            LiveStatus(recorded: starting, loaded: false).message(reserved: true, isRunning: { _ in true })
                == "not armed yet: oopsd is arming (start)")
        starting.arming = nil
        #expect(
            LiveStatus(recorded: starting, loaded: false).message(reserved: false)
                == "not armed: no memory is reserved for a capture kernel (add crashkernel= to the kernel command line)"
        )
    }

    @Test func processLivenessTellsARunningProcessFromAGoneOne() {
        #expect(ProcessLiveness.isRunning(CurrentProcess.id))
        #expect(ProcessLiveness.isRunning(1), "another user's process (EPERM) still exists")
        #expect(!ProcessLiveness.isRunning(0))
        #expect(!ProcessLiveness.isRunning(Int32.max), "above pid_max: no such process")
    }
}
