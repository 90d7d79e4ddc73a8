import DumpFormat
import OopsConfig
import SystemCalls
import TestSupport
import Testing
import VMCore

@testable import OopsService

#if canImport(Glibc)
import Glibc
#endif

/// What `oopsd` does at every start with a dump directory somebody crafted: one bad dump must cost neither the
/// others' reports nor the service (a trap, a hang or an error that stops the loop would repeat on every restart).
@Suite struct CraftedDumpTreeTests {
    static let good = "20261201T000000Z-00000005"
    static let pageTables = "20261201T000000Z-00000001"
    static let fifos = "20261201T000000Z-00000002"
    static let linked = "20261201T000000Z-00000003"
    static let blocked = "20261201T000000Z-00000004"
    static let secret = "root-only secret 7f3a"

    /// A kdump file of the page-walk machine whose VMCOREINFO points `prb` into the direct map, which a kdump file
    /// can reach only through page tables that themselves live in the direct map.
    func pageTableLoopKdump(_ path: String, scratch: TemporaryDirectory) throws {
        let text = PageWalkFixture.vmcoreinfo(replacing: [
            "SYMBOL(prb)": String(PageWalkFixture.direct(0x7000), radix: 16)
        ])
        let input = try ELFCore.open(try scratch.write("input", PageWalkFixture.core(vmcoreinfo: text).bytes()))
        defer { try? input.close() }
        let output = try FileDescriptor.open(path, [.readWrite, .create, .exclusive], mode: 0o600)
        defer { try? output.close() }
        var statistics = WriteStatistics()
        try KdumpWriter(compression: .zstd).write(
            input, selection: PageSelector.select(input, level: DumpLevel(0)!), excludeZeroPages: false, to: output,
            statistics: &statistics)
    }

    func tree() throws -> (TemporaryDirectory, TemporaryDirectory) {
        let directory = try TemporaryDirectory("crafted-tree")
        let scratch = try TemporaryDirectory("crafted-input")
        let root = directory.path
        try write(root, "/etc/oopsd/oopsd.conf", "[Retention]\nMaxUse=100%\nKeepFree=0\n")
        try write(root, "/root/secret", Self.secret + "\n")
        for id in [Self.good, Self.pageTables, Self.fifos, Self.linked, Self.blocked] {
            try write(
                root, "/var/crash/\(id)/metadata.json",
                #"{"status":"complete","kernel_release":"6.1.0-56-amd64","crash_time":1796083200}"#)
            if id != Self.pageTables && id != Self.linked {
                try write(
                    root, "/var/crash/\(id)/dmesg.txt",
                    "[   60.100100] Kernel panic - not syncing: crash in \(id)\n")
            }
        }
        try pageTableLoopKdump(root + "/var/crash/\(Self.pageTables)/vmcore.kdump", scratch: scratch)
        #expect(mkfifo(root + "/var/crash/\(Self.fifos)/vmcore", 0o600) == 0)
        #expect(mkfifo(root + "/var/crash/\(Self.fifos)/upload-state.json", 0o600) == 0)
        #expect(symlink(root + "/root/secret", root + "/var/crash/\(Self.linked)/dmesg.txt") == 0)
        // A report.txt the service cannot replace: writing this dump's report fails, every time.
        #expect(mkdir(root + "/var/crash/\(Self.blocked)/report.txt", 0o700) == 0)
        try write(root, "/var/crash/\(Self.blocked)/report.txt/keep", "x")
        return (directory, scratch)
    }

    @Test(.timeLimit(.minutes(1))) func oneBadDumpCostsNeitherTheOthersNorTheService() throws {
        let (directory, _) = try tree()
        let root = directory.path
        let log = RecordingLog()
        let collector = DumpCollector(root: HostRoot(root), log: log)
        let configuration = OopsConfiguration(MergedConfiguration.load(root: HostRoot(root)))
        let reports = collector.collect(configuration)

        #expect(reports.map(\.id).sorted() == [Self.pageTables, Self.fifos, Self.linked, Self.good])
        let good = try #require(reports.first { $0.id == Self.good })
        #expect(good.panicLine == "Kernel panic - not syncing: crash in \(Self.good)")
        #expect(FileSystem.exists(root + "/var/crash/\(Self.good)/report.json"))

        // The page tables that lead back into themselves are an error note, not endless recursion.
        let pageTables = try #require(reports.first { $0.id == Self.pageTables })
        #expect(
            pageTables.notes.contains {
                $0.hasPrefix("no dmesg.txt, and the log could not be decoded from the vmcore")
            },
            "\(pageTables.notes)")
        // A FIFO is refused, not waited on.
        let fifos = try #require(reports.first { $0.id == Self.fifos })
        #expect(fifos.notes.contains { $0.contains("is a FIFO or socket, not a regular file") }, "\(fifos.notes)")
        // A link is not followed: the secret reaches no report and no log line.
        let linked = try #require(reports.first { $0.id == Self.linked })
        #expect(linked.notes.contains { $0.hasPrefix("dmesg.txt not read: ") }, "\(linked.notes)")
        for id in [Self.good, Self.pageTables, Self.fifos, Self.linked] {
            for file in ["report.json", "report.txt"] {
                let text = String(decoding: try FileSystem.readBytes(root + "/var/crash/\(id)/\(file)"), as: UTF8.self)
                #expect(!text.contains(Self.secret), "\(id)/\(file) quotes the linked file")
            }
        }
        #expect(!log.messages.contains { $0.contains(Self.secret) })
        // The dump whose report cannot be written is named, with the reason, and left for the next start.
        #expect(
            log.messages.contains {
                $0.hasPrefix("cannot write the report of \(Self.blocked): ") && $0.contains("report.txt")
            }, "\(log.messages)")
        #expect(FileSystem.exists(root + "/var/crash/\(Self.blocked)/metadata.json"))

        // The next start finds nothing new but the one it could not write, and fails on it the same way.
        let again = DumpCollector(root: HostRoot(root), log: log).collect(configuration)
        #expect(again.isEmpty)
        #expect(log.messages.filter { $0.hasPrefix("cannot write the report of \(Self.blocked): ") }.count == 2)
    }
}
