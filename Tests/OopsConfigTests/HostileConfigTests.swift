import SystemCalls
import Testing

@testable import OopsConfig

#if canImport(Glibc)
import Glibc
#endif

/// Configuration values and files that trapped or blocked before arming (issue 14): each is now an error that
/// `oopsctl config --validate` reports, and the service keeps its last good configuration.
@Suite struct HostileConfigTests {
    func load(_ files: [String: String]) -> MergedConfiguration {
        let tree = TestTree()
        for (file, text) in files { tree.write(file, text) }
        return MergedConfiguration.load(root: tree.root)
    }

    @Test(arguments: ["4294967295%", "429496730%", "18446744073709551615%", "1000.5%", "١٠%"])
    func percentagesThatOverflowAreRefused(_ text: String) {
        #expect(ByteSize.parseSizeOrPercent(text) == nil)
    }

    @Test func aKeepFreeThatOverflowedThePercentParserIsAnError() {
        let merged = load(["/etc/oopsd/oopsd.conf": "[Retention]\nKeepFree=4294967295%\n"])
        #expect(
            merged.diagnostics.map(\.description) == [
                "/etc/oopsd/oopsd.conf:2: KeepFree=4294967295%: expected a size (e.g. 512M, 2G) or a percentage (e.g. 10%)"
            ])
    }

    @Test func aSizeBeyondAFileOffsetIsAnErrorNotATrapLater() {
        // 2^64 - 1 passed --validate, then trapped where it became an off_t or was printed.
        let merged = load(["/etc/oopsd/oopsd.conf": "[Retention]\nKeepFree=18446744073709551615\nMaxUse=8388608T\n"])
        #expect(
            merged.diagnostics.map(\.description) == [
                "/etc/oopsd/oopsd.conf:2: KeepFree=18446744073709551615: expected a size (e.g. 512M, 2G) or a percentage "
                    + "(e.g. 10%)",
                "/etc/oopsd/oopsd.conf:3: MaxUse=8388608T: expected a size (e.g. 512M, 2G) or a percentage (e.g. 10%)",
            ])
        #expect(ByteSize.parse("9223372036854775807") == ByteSize.maximum)
        #expect(ByteSize.parse("8388607T") == 8_388_607 << 40)
    }

    @Test func everySizePrintsWithoutOverflow() {
        #expect(ByteSize.format(.max) == "16777216.0T")
        #expect(ByteSize.format((1 << 62) + 1) == "4194304.0T")
        #expect(ByteSize.format(1536) == "1.5K")
    }

    @Test(arguments: ["18446744073709551615us 1us", "213503982334601w 1w", "5124095576030431h 5124095576030431h"])
    func timeSpansWhoseSumOverflowsAreRefused(_ text: String) {
        #expect(TimeSpan.parse(text) == nil)
    }

    @Test func aTimeoutWhoseSumOverflowsIsAnError() {
        let merged = load(["/etc/oopsd/oopsd.conf": "[Capture]\nTimeout=18446744073709551615us 1us\n"])
        #expect(
            merged.diagnostics.map(\.description) == [
                "/etc/oopsd/oopsd.conf:2: Timeout=18446744073709551615us 1us: expected a time span (e.g. 90s, 15min, "
                    + "1h 30min)"
            ])
        #expect(TimeSpan(seconds: .max).microseconds == .max)
    }

    @Test func aFIFOAsTheConfigurationFileOrADropInIsRefusedWithoutBlocking() {
        let tree = TestTree()
        tree.mkdir("/etc/oopsd/oopsd.conf.d")
        #expect(mkfifo(tree.path + "/etc/oopsd/oopsd.conf", 0o644) == 0)
        #expect(mkfifo(tree.path + "/etc/oopsd/oopsd.conf.d/10-fifo.conf", 0o644) == 0)
        tree.write("/etc/oopsd/oopsd.conf.d/20-real.conf", "[Capture]\nDumpLevel=17\n")
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(
            merged.diagnostics.map(\.description) == [
                "/etc/oopsd/oopsd.conf: cannot read: /etc/oopsd/oopsd.conf is a FIFO or socket, not a regular file; not read",
                "/etc/oopsd/oopsd.conf.d/10-fifo.conf: cannot read: /etc/oopsd/oopsd.conf.d/10-fifo.conf is a FIFO or "
                    + "socket, not a regular file; not read",
            ])
        #expect(OopsConfiguration(merged).capture.dumpLevel == 17)
    }

    @Test func aDropInLinkedToDevZeroIsRefusedAndALinkToAFileStillWorks() {
        let tree = TestTree()
        tree.write("/srv/fleet.conf", "[Capture]\nDumpLevel=7\n")
        tree.symlink("/etc/oopsd/oopsd.conf.d/10-fleet.conf", to: tree.path + "/srv/fleet.conf")
        tree.symlink("/etc/oopsd/oopsd.conf.d/50-zero.conf", to: "/dev/zero")
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(
            merged.diagnostics.map(\.description) == [
                "/etc/oopsd/oopsd.conf.d/50-zero.conf: cannot read: /etc/oopsd/oopsd.conf.d/50-zero.conf is a character "
                    + "device, not a regular file; not read"
            ])
        #expect(OopsConfiguration(merged).capture.dumpLevel == 7)
    }

    @Test func aConfigurationFileLargerThanOneMiBIsNotRead() {
        let tree = TestTree()
        tree.writeBytes("/etc/oopsd/oopsd.conf", [UInt8](repeating: UInt8(ascii: "#"), count: (1 << 20) + 1))
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(
            merged.diagnostics.map(\.description) == [
                "/etc/oopsd/oopsd.conf: is larger than 1024 KiB; not read (a configuration file is a few KiB)"
            ])
    }

    // Found by the config fuzz target's profile: three loops over a file's lines that were quadratic, so a file
    // under the 1 MiB limit stalled arming (and `oopsctl config`) for seconds to minutes.

    /// Each continuation copied and trimmed the whole growing line: 40,000 of them (160 KB) took 15 s.
    @Test(.timeLimit(.minutes(1))) func aMegabyteOfContinuationLinesIsReadInOnePass() {
        let lines = 250_000
        let text = "[Kernel]\nExtraModules=a \\\n" + String(repeating: "a \\\n", count: lines) + "b\n"
        var diagnostics: [ConfigDiagnostic] = []
        let assignments = IniParser.parse(text, file: "/etc/oopsd/oopsd.conf", diagnostics: &diagnostics)
        #expect(diagnostics.isEmpty)
        #expect(assignments.map(\.value) == [String(repeating: "a ", count: lines + 1) + "b"])
    }

    /// Each assignment to a list copied the list: 32,000 `ExtraModules=` lines took 9 s.
    @Test(.timeLimit(.minutes(1))) func aMegabyteOfListAssignmentsGrowsOneList() {
        let count = 65_000
        let merged = load(["/etc/oopsd/oopsd.conf": "[Kernel]\n" + String(repeating: "ExtraModules=a\n", count: count)])
        #expect(merged.diagnostics.isEmpty)
        #expect(merged.value(ConfigKeys.extraModules) == .list(Array(repeating: "a", count: count)))
        #expect(
            merged.entry(ConfigKeys.extraModules).origin == ConfigOrigin(file: "/etc/oopsd/oopsd.conf", line: count + 1)
        )
    }

    /// Each assignment looked its section up in the list of named sections (16,000 sections took 1 s); now a set
    /// answers. Each section here is set twice and listed once, where it was first seen.
    @Test func namedSectionsAreListedOnceEachInTheOrderFirstSeen() {
        let count = 20_000
        let sections = (0..<count).map { "[Upload.s\($0)]\nURL=x\n" }.joined()
        let merged = load(["/etc/oopsd/oopsd.conf": sections + sections])
        #expect(merged.namedSections == (0..<count).map { "Upload.s\($0)" })
    }
}
