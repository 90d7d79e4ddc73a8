import OopsConfig
import Synchronization
import SystemCalls
import TestSupport
import Testing

@testable import OopsService

/// What happened, in order, from any thread.
final class Events: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ event: String) { list.withLock { $0.append(event) } }
    var all: [String] { list.withLock { $0 } }
}

/// A part that records its start and stop in a shared list, can refuse to start, and can take a while to stop.
final class RecordingPart: ServicePart {
    let name: String
    let events: Events
    var failsToStart = false
    var stopTakes = 0.0

    init(_ name: String, events: Events) {
        self.name = name
        self.events = events
    }

    func start() throws {
        if failsToStart { throw SystemError("start", errno: 5) }
        events.add("start \(name)")
    }

    func stop(waitingUpTo seconds: Double) -> Bool {
        events.add("stop \(name)")
        DetachedThread.sleep(seconds: min(stopTakes, seconds))
        return stopTakes <= seconds
    }
}

@Suite struct ServiceSupervisorTests {
    @Test func partsStopInTheReverseOrderAndAFailedStartIsLoggedAndSkipped() {
        let events = Events()
        let log = RecordingLog()
        let supervisor = ServiceSupervisor(log: log)
        let broken = RecordingPart("uploads", events: events)
        broken.failsToStart = true
        #expect(supervisor.start(RecordingPart("watchdog", events: events), stopSeconds: 1))
        #expect(supervisor.start(RecordingPart("arming", events: events), stopSeconds: 1))
        #expect(!supervisor.start(broken, stopSeconds: 1))
        #expect(supervisor.start(RecordingPart("collection", events: events), stopSeconds: 1))
        #expect(supervisor.running == ["watchdog", "arming", "collection"])
        #expect(log.messages.contains { $0.hasPrefix("uploads: cannot start: ") })
        supervisor.stopAll(budget: 10)
        #expect(
            events.all == [
                "start watchdog", "start arming", "start collection", "stop collection", "stop arming",
                "stop watchdog",
            ])
        #expect(supervisor.running.isEmpty)
    }

    @Test func aSlowPartGetsItsShareAndTheRestStillStopWithinTheBudget() {
        let events = Events()
        let log = RecordingLog()
        let supervisor = ServiceSupervisor(log: log)
        supervisor.start(RecordingPart("arming", events: events), stopSeconds: 5)
        let slow = RecordingPart("uploads", events: events)
        slow.stopTakes = 30
        supervisor.start(slow, stopSeconds: 0.4)
        let began = MonotonicClock.microseconds
        supervisor.stopAll(budget: 1)
        let seconds = Double(MonotonicClock.microseconds - began) / 1_000_000
        #expect(seconds < 0.9, "stopping took \(seconds) s")
        #expect(events.all.suffix(2) == ["stop uploads", "stop arming"])
        #expect(log.messages.contains("uploads: still busy after 0.4 s; stopping anyway"))
    }
}

@Suite struct CollectionStopTests {
    @Test func aStopBetweenTwoDumpsLeavesTheRestForTheNextStartAndSkipsRetention() throws {
        let directory = try TemporaryDirectory("service")
        let root = directory.path
        let names = ["20260101T000000Z-aaaaaaaa", "20260102T000000Z-bbbbbbbb", "20260103T000000Z-cccccccc"]
        for name in names {
            try write(root, "/var/crash/\(name)/dmesg.txt", "[    1.000000] Kernel panic - not syncing: \(name)\n")
            try write(root, "/var/crash/\(name)/metadata.json", #"{"status":"complete","crash_time":1767225600}"#)
        }
        try write(root, "/etc/oopsd/oopsd.conf", "[Retention]\nMaxDumps=1\nMaxUse=100%\nKeepFree=0\n")
        let configuration = OopsConfiguration(MergedConfiguration.load(root: HostRoot(root)))
        let log = RecordingLog()
        var asked = 0
        let first = DumpCollector(root: HostRoot(root), log: log).collect(configuration) {
            asked += 1
            return asked > 1
        }
        #expect(first.map(\.id) == [names[0]])
        // Retention (MaxDumps=1) did not run: a stopped collection deletes nothing.
        #expect(names.allSatisfy { FileSystem.exists(root + "/var/crash/\($0)") })
        let second = DumpCollector(root: HostRoot(root), log: log).collect(configuration)
        #expect(second.map(\.id) == Array(names.dropFirst()))
    }

    @Test(.timeLimit(.minutes(1))) func theServiceCollectsInItsOwnThreadAndSaysWhenItHasFinished() throws {
        let directory = try TemporaryDirectory("service")
        let root = directory.path
        let name = "20260101T000000Z-aaaaaaaa"
        try write(root, "/var/crash/\(name)/dmesg.txt", "[    1.000000] Kernel panic - not syncing: x\n")
        try write(root, "/var/crash/\(name)/metadata.json", #"{"status":"complete","crash_time":1767225600}"#)
        try write(root, "/etc/oopsd/oopsd.conf", "[Retention]\nMaxUse=100%\nKeepFree=0\n")
        let configuration = OopsConfiguration(MergedConfiguration.load(root: HostRoot(root)))
        let events = Events()
        let collection = CollectionService(
            root: HostRoot(root), log: RecordingLog(), configuration: configuration,
            finished: { events.add("finished") })
        try collection.start()
        var waited = 0.0
        while !collection.isFinished && waited < 30 {
            DetachedThread.sleep(seconds: 0.05)
            waited += 0.05
        }
        #expect(collection.isFinished)
        #expect(collection.stop(waitingUpTo: 0))
        #expect(events.all == ["finished"])
        #expect(FileSystem.exists(root + "/var/crash/\(name)/report.json"))
    }
}
