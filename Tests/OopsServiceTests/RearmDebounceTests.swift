import SystemCalls
import TestSupport
import Testing

@testable import OopsService

/// When the service re-arms after watched files change, on a clock the test moves.
@Suite struct RearmDebounceTests {
    /// A service armed at start, on a clock that starts at 1000 s.
    final class Rig {
        var now: UInt64 = 1_000_000_000
        let arming = FakeArming()
        let directory: TemporaryDirectory
        var service: ArmingService!

        init() throws {
            directory = try TemporaryDirectory("debounce")
            service = ArmingService(
                root: directory.root, journal: RecordingLog(), arming: arming, clock: { [unowned self] in self.now })
            service.reload(reason: "start")
        }

        /// Runs the daemon's loop for `seconds`, 100 ms a turn: `change(second)` says whether a watched file changes
        /// in that turn, and in which tree. Returns the seconds (from the run's start) at which it re-armed.
        func run(seconds: Int, change: (Double) -> (tree: Bool, reason: String)?) -> [Double] {
            var rearms: [Double] = []
            for turn in 0..<(seconds * 10) {
                let second = Double(turn) / 10
                if let (tree, reason) = change(second) { service.schedule(reason: reason, tree: tree) }
                if service.rearmIfDue() { rearms.append(second) }
                now += 100_000
            }
            return rearms
        }
    }

    @Test func aModuleBuildThatWritesEveryThreeSecondsReArmsOnceWhenItsTreeIsQuiet() throws {
        // DKMS building and installing a module for five minutes: the module tree changes every 3 s.
        let rig = try Rig()
        let rearms = rig.run(seconds: 400) { second in
            second < 300 && second.truncatingRemainder(dividingBy: 3) == 0
                ? (true, "changed: /lib/modules/6.1.0-27-amd64") : nil
        }
        #expect(rearms == [327.0], "once, 30 s after the last change at 297 s")
        #expect(rig.arming.armed.count == 2, "the start and that one re-arm")
    }

    @Test func aConfigurationEditReArmsAfterRearmDelay() throws {
        let rig = try Rig()
        let rearms = rig.run(seconds: 20) { second in
            second == 1 || second == 10 ? (false, "changed: /etc/oopsd/oopsd.conf.d") : nil
        }
        #expect(rearms == [3.0, 12.0])
    }

    @Test func aConfigurationEditDuringAPackagesBurstWaitsForTheBurst() throws {
        let rig = try Rig()
        let rearms = rig.run(seconds: 60) { second in
            if second == 0 || second == 4 { return (true, "changed: /boot") }
            return second == 5 ? (false, "changed: /etc/oopsd/oopsd.conf.d") : nil
        }
        #expect(rearms == [34.0], "one re-arm for both, when /boot has been quiet for 30 s")
    }

    @Test func aChangeWhileReArmingIsArmedAfterwards() throws {
        let rig = try Rig()
        var changedDuringArming = false
        rig.arming.whileArming = { [unowned rig] in
            guard !changedDuringArming, rig.arming.armed.count == 1 else { return }
            // The module tree changes after the re-arm has read it: inotify keeps the event for the next wait.
            changedDuringArming = true
            rig.service.schedule(reason: "changed: /lib/modules/6.1.0-27-amd64", tree: true)
        }
        let rearms = rig.run(seconds: 80) { second in
            second == 0 ? (true, "changed: /lib/modules/6.1.0-27-amd64") : nil
        }
        #expect(changedDuringArming)
        #expect(rearms == [30.0, 60.0], "the change during the first re-arm gets one of its own")
    }

    @Test func theEventsNameTheWatchedPathsThatChanged() throws {
        let directory = try TemporaryDirectory("inotify")
        let modules = directory.path + "/lib/modules/6.1.0-27-amd64"
        let configuration = directory.path + "/etc/oopsd/oopsd.conf.d"
        try FileSystem.makeDirectory(modules, parents: true)
        try FileSystem.makeDirectory(configuration, parents: true)
        let sources = try ServiceEventSources(uevents: false)
        try #require(sources.watchesFiles)
        try sources.watch(modules)
        try sources.watch(configuration)
        #expect(sources.wait(timeoutMicroseconds: 0) == [])
        try FileSystem.writeAtomically(modules + "/modules.dep", Array("kernel/fs/ext4/ext4.ko:\n".utf8))
        #expect(sources.wait(timeoutMicroseconds: 1_000_000) == [.fileChanged([modules])])
        try FileSystem.writeAtomically(configuration + "/50-level.conf", Array("[Capture]\nDumpLevel=1\n".utf8))
        try FileSystem.writeAtomically(modules + "/modules.alias", Array("\n".utf8))
        #expect(sources.wait(timeoutMicroseconds: 1_000_000) == [.fileChanged([configuration, modules].sorted())])
    }
}
