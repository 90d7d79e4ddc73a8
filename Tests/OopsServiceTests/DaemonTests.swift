import Foundation
import OopsConfig
import SystemCalls
import TestSupport
import Testing

@testable import OopsService

/// Records what the service logs.
final class RecordingLog: ServiceLog, @unchecked Sendable {
    var entries: [(LogPriority, String, [(String, String)])] = []
    func log(_ priority: LogPriority, _ message: String, fields: [(String, String)]) {
        entries.append((priority, message, fields))
    }
    var messages: [String] { entries.map(\.1) }
}

/// Arms nothing; records the configurations it was asked to arm with, and can fail.
final class FakeArming: Arming, @unchecked Sendable {
    var armed: [OopsConfiguration] = []
    var failure: String?
    /// What the outcome says of the local target of a network capture.
    var localTargetMissing: String?
    /// Runs inside each arm(), where loading would happen.
    var whileArming: () -> Void = {}
    struct Failure: Error, CustomStringConvertible { var description: String }

    func arm(_ configuration: OopsConfiguration) throws -> ArmOutcome {
        whileArming()
        if let failure { throw Failure(description: failure) }
        armed.append(configuration)
        var outcome = ArmOutcome(
            kernelImage: "/boot/vmlinuz-test", kernelRelease: "test", commandLine: "panic=10",
            image: .init(
                path: "/var/lib/oopsd/initramfs-x.img", bytes: 4096, unpackedBytes: 8192, sha256: "x",
                builtAt: "2026-01-01T00:00:00Z", reused: false),
            modules: [], dumpDirectory: configuration.capture.directory, loaded: true)
        outcome.localTargetMissing = localTargetMissing
        return outcome
    }
    func disarm() throws {}
    func watchedPaths(_ configuration: OopsConfiguration) -> [String] { [] }
    func hotplugNeedsReload() -> Bool { false }
}

func write(_ root: String, _ path: String, _ text: String) throws {
    try FileManager.default.createDirectory(
        atPath: (root + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: root + path, atomically: true, encoding: .utf8)
}

@Suite struct DaemonTests {
    /// `oopsctl status` says where a network capture goes and what a failed upload does: fall back to the
    /// directory, or, on a machine with no local target, take the failure action.
    @Test func statusSaysWhereANetworkCaptureGoesAndItsFallback() throws {
        let directory = try TemporaryDirectory("service")
        let root = directory.path
        try write(
            root, "/etc/oopsd/oopsd.conf",
            "[Capture]\nTarget=s3://dumps/vm\n[Upload.rgw]\nURL=s3://dumps/vm\nEndpoint=http://10.0.2.2:7480\n")
        let arming = FakeArming()
        let daemon = OopsDaemon(root: HostRoot(root), journal: RecordingLog(), arming: arming)
        daemon.reload(reason: "start")
        let withDisk = try #require(try ServiceStatus.read(root: HostRoot(root)))
        #expect(withDisk.message == "armed: test, initramfs 4 KiB, dumps to s3://dumps/vm, else /var/crash")
        #expect(withDisk.localTargetMissing == nil)
        arming.localTargetMissing = "dump target /var/crash: is on tmpfs (tmpfs), not a block device"
        daemon.reload(reason: "reload")
        let diskless = try #require(try ServiceStatus.read(root: HostRoot(root)))
        #expect(
            diskless.message
                == "armed: test, initramfs 4 KiB, dumps to s3://dumps/vm only, a failed upload takes the failure "
                + "action (dump target /var/crash: is on tmpfs (tmpfs), not a block device)")
        // oopsctl status reads it to say there is no local dump target.
        #expect(diskless.localTargetMissing == "dump target /var/crash: is on tmpfs (tmpfs), not a block device")
    }

    @Test func armsWithTheConfigurationAndRecordsTheStatus() throws {
        let directory = try TemporaryDirectory("service")
        let root = directory.path
        try write(root, "/etc/oopsd/oopsd.conf", "[Capture]\nDumpLevel=1\n")
        let arming = FakeArming()
        let daemon = OopsDaemon(root: HostRoot(root), journal: RecordingLog(), arming: arming)
        daemon.reload(reason: "start")
        #expect(arming.armed.map(\.capture.dumpLevel) == [1])
        let status = try #require(try ServiceStatus.read(root: HostRoot(root)))
        #expect(status.armed)
        #expect(status.configErrors.isEmpty)
        #expect(status.message == "armed: test, initramfs 4 KiB, dumps to /var/crash")
    }

    @Test func brokenDropInKeepsTheLastGoodConfigurationArmed() throws {
        let directory = try TemporaryDirectory("service")
        let root = directory.path
        try write(root, "/etc/oopsd/oopsd.conf", "[Capture]\nDumpLevel=1\n")
        let arming = FakeArming()
        let log = RecordingLog()
        let daemon = OopsDaemon(root: HostRoot(root), journal: log, arming: arming)
        daemon.reload(reason: "start")
        try write(root, "/etc/oopsd/oopsd.conf.d/10-bad.conf", "[Capture]\nDumpLevel=3\nFormat=tarball\n")
        daemon.reload(reason: "a watched file changed")
        #expect(arming.armed.count == 1, "a broken configuration must not be armed")
        #expect(daemon.armedConfiguration?.capture.dumpLevel == 1)
        let status = try #require(try ServiceStatus.read(root: HostRoot(root)))
        #expect(status.armed)
        #expect(
            status.configErrors == ["/etc/oopsd/oopsd.conf.d/10-bad.conf:3: Format=tarball: expected one of elf, kdump"]
        )
        #expect(status.message == "armed with the last good configuration; fix /etc/oopsd/oopsd.conf.d/10-bad.conf:3")
        #expect(
            log.messages.contains(
                "configuration: /etc/oopsd/oopsd.conf.d/10-bad.conf:3: Format=tarball: expected one of elf, kdump"))

        // Fixed: the new configuration is armed.
        try write(root, "/etc/oopsd/oopsd.conf.d/10-bad.conf", "[Capture]\nDumpLevel=3\n")
        daemon.reload(reason: "a watched file changed")
        #expect(arming.armed.map(\.capture.dumpLevel) == [1, 3])
        #expect(try ServiceStatus.read(root: HostRoot(root))?.configErrors == [])
    }

    @Test func brokenConfigurationAtFirstStartStillArmsWithTheValidSettings() throws {
        let directory = try TemporaryDirectory("service")
        let root = directory.path
        try write(root, "/etc/oopsd/oopsd.conf", "[Capture]\nDumpLevel=99\nDirectory=/srv/crash\n")
        let arming = FakeArming()
        OopsDaemon(root: HostRoot(root), journal: RecordingLog(), arming: arming).reload(reason: "start")
        #expect(arming.armed.count == 1)
        #expect(arming.armed.first?.capture.dumpLevel == 31)
        #expect(arming.armed.first?.capture.directory == "/srv/crash")
        let status = try #require(try ServiceStatus.read(root: HostRoot(root)))
        #expect(status.armed)
        #expect(
            status.message
                == "armed with errors in the configuration skipped; fix /etc/oopsd/oopsd.conf:2: DumpLevel=99: expected 0..31"
        )
    }

    @Test func armingFailureIsReportedAsNotArmed() throws {
        let directory = try TemporaryDirectory("service")
        let root = directory.path
        let arming = FakeArming()
        arming.failure = "no memory is reserved for a capture kernel"
        let log = RecordingLog()
        OopsDaemon(root: HostRoot(root), journal: log, arming: arming).reload(reason: "start")
        let status = try #require(try ServiceStatus.read(root: HostRoot(root)))
        #expect(!status.armed)
        #expect(status.message == "not armed: no memory is reserved for a capture kernel")
        #expect(status.lastError == "no memory is reserved for a capture kernel")
        #expect(
            log.entries.contains {
                $0.0 == .error && $0.1 == "arming failed (start): no memory is reserved for a capture kernel"
            })
    }
}

@Suite struct CollectorTests {
    @Test func newDumpGetsAReportAndOneJournalEntryOnlyOnce() throws {
        let directory = try TemporaryDirectory("service")
        let root = directory.path
        let dump = "/var/crash/20261126T025211Z-2f9bbfbc"
        try write(
            root, dump + "/dmesg.txt",
            """
            [    0.000000] Linux version 6.1.0-56-amd64
            [   60.100000] sysrq: Trigger a crash
            [   60.100100] Kernel panic - not syncing: sysrq triggered crash

            """)
        try write(
            root, dump + "/metadata.json",
            #"{"status":"complete","kernel_release":"6.1.0-56-amd64","crash_time":1795000000}"#)
        // Retention limits that the host's own disk cannot trip: this test is about collection.
        try write(root, "/etc/oopsd/oopsd.conf", "[Retention]\nMaxUse=100%\nKeepFree=0\n")
        let log = RecordingLog()
        let collector = DumpCollector(root: HostRoot(root), log: log)
        let configuration = OopsConfiguration(MergedConfiguration.load(root: HostRoot(root)))
        let reports = collector.collect(configuration)
        #expect(reports.map(\.id) == ["20261126T025211Z-2f9bbfbc"])
        #expect(FileManager.default.fileExists(atPath: root + dump + "/report.json"))
        #expect(FileManager.default.fileExists(atPath: root + dump + "/report.txt"))
        let entry = try #require(
            log.entries.first { $0.2.contains { $0 == ("MESSAGE_ID", DumpCollector.newDumpMessageID) } })
        #expect(entry.1.hasPrefix("kernel crash dump 20261126T025211Z-2f9bbfbc collected"))
        #expect(entry.1.contains("Kernel panic - not syncing: sysrq triggered crash"))
        #expect(entry.2.contains { $0 == ("OOPSD_DUMP", dump) })
        // A second start finds nothing new.
        #expect(collector.collect(configuration).isEmpty)
        #expect(log.entries.filter { $0.2.contains { $0.0 == "MESSAGE_ID" } }.count == 1)
    }

    @Test func retentionRunsAfterCollectionAndIsLogged() throws {
        let directory = try TemporaryDirectory("service")
        let root = directory.path
        for (index, name) in ["20260101T000000Z-aaaaaaaa", "20260102T000000Z-bbbbbbbb", "20260103T000000Z-cccccccc"]
            .enumerated()
        {
            try write(
                root, "/var/crash/\(name)/dmesg.txt", "[    1.000000] Kernel panic - not syncing: test \(index)\n")
            try write(
                root, "/var/crash/\(name)/metadata.json",
                #"{"status":"complete","crash_time":\#(1_767_225_600 + index * 86400)}"#)
        }
        try write(root, "/etc/oopsd/oopsd.conf", "[Retention]\nMaxDumps=2\nMaxUse=100%\nKeepFree=0\n")
        let log = RecordingLog()
        let configuration = OopsConfiguration(MergedConfiguration.load(root: HostRoot(root)))
        DumpCollector(root: HostRoot(root), log: log).collect(configuration)
        let left = try FileManager.default.contentsOfDirectory(atPath: root + "/var/crash").sorted()
        #expect(left == ["20260102T000000Z-bbbbbbbb", "20260103T000000Z-cccccccc"])
        #expect(
            log.messages.contains { $0.hasPrefix("retention: deleted \(root)/var/crash/20260101T000000Z-aaaaaaaa") })
    }
}
