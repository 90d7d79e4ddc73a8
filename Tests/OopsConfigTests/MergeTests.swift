import Foundation
import Testing

@testable import OopsConfig

@Suite struct MergeTests {
    @Test func defaultsWhenNoFileExists() {
        let tree = TestTree()
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(merged.files.isEmpty)
        #expect(merged.diagnostics.isEmpty)
        #expect(
            merged.entry(ConfigKeys.dumpLevel) == .init(key: ConfigKeys.dumpLevel, value: .integer(31), origin: nil))
    }

    @Test func dropInsApplyAfterTheMainFileInNameOrderAndLaterAssignmentsWin() {
        let tree = TestTree()
        tree.write("/etc/oopsd/oopsd.conf", "[Capture]\nDumpLevel=1\nFormat=kdump\n")
        tree.write("/usr/lib/oopsd/oopsd.conf.d/20-b.conf", "[Capture]\nDumpLevel=20\n")
        tree.write("/etc/oopsd/oopsd.conf.d/10-a.conf", "[Capture]\nDumpLevel=10\nDumpLevel=11\n")
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(merged.diagnostics.isEmpty)
        #expect(
            merged.files == [
                "/etc/oopsd/oopsd.conf", "/etc/oopsd/oopsd.conf.d/10-a.conf",
                "/usr/lib/oopsd/oopsd.conf.d/20-b.conf",
            ])
        #expect(merged.value(ConfigKeys.dumpLevel) == .integer(20))
        #expect(
            merged.entry(ConfigKeys.dumpLevel).origin
                == ConfigOrigin(file: "/usr/lib/oopsd/oopsd.conf.d/20-b.conf", line: 2))
        #expect(merged.entry(ConfigKeys.format).origin == ConfigOrigin(file: "/etc/oopsd/oopsd.conf", line: 3))
    }

    @Test func sameNamedDropInInHigherDirectoryMasksLowerOne() {
        let tree = TestTree()
        tree.write("/usr/lib/oopsd/oopsd.conf.d/50-x.conf", "[Capture]\nDumpLevel=1\nFormat=kdump\n")
        tree.write("/usr/local/lib/oopsd/oopsd.conf.d/50-x.conf", "[Capture]\nDumpLevel=2\n")
        tree.write("/run/oopsd/oopsd.conf.d/50-x.conf", "[Capture]\nDumpLevel=3\n")
        var merged = MergedConfiguration.load(root: tree.root)
        #expect(merged.files == ["/run/oopsd/oopsd.conf.d/50-x.conf"])
        #expect(merged.value(ConfigKeys.dumpLevel) == .integer(3))
        #expect(merged.value(ConfigKeys.format) == .text("elf"))  // the masked file's Format= is gone

        tree.write("/etc/oopsd/oopsd.conf.d/50-x.conf", "[Capture]\nDumpLevel=4\n")
        merged = MergedConfiguration.load(root: tree.root)
        #expect(merged.files == ["/etc/oopsd/oopsd.conf.d/50-x.conf"])
        #expect(merged.value(ConfigKeys.dumpLevel) == .integer(4))
    }

    @Test func devNullSymlinkAndEmptyFileMask() {
        let tree = TestTree()
        tree.write("/usr/lib/oopsd/oopsd.conf.d/50-x.conf", "[Capture]\nDumpLevel=1\n")
        tree.write("/usr/lib/oopsd/oopsd.conf.d/60-y.conf", "[Capture]\nFormat=kdump\n")
        tree.symlink("/etc/oopsd/oopsd.conf.d/50-x.conf", to: "/dev/null")
        tree.write("/run/oopsd/oopsd.conf.d/60-y.conf", "")
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(merged.diagnostics.isEmpty)
        #expect(merged.value(ConfigKeys.dumpLevel) == .integer(31))
        #expect(merged.value(ConfigKeys.format) == .text("elf"))
        #expect(merged.files == ["/run/oopsd/oopsd.conf.d/60-y.conf"])
    }

    @Test func mainFileIsTheFirstFoundFromEtcDownToUsrLib() {
        let tree = TestTree()
        tree.write("/usr/lib/oopsd/oopsd.conf", "[Capture]\nDumpLevel=1\n")
        #expect(MergedConfiguration.load(root: tree.root).value(ConfigKeys.dumpLevel) == .integer(1))
        tree.write("/etc/oopsd/oopsd.conf", "[Capture]\nFormat=kdump\n")
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(merged.files == ["/etc/oopsd/oopsd.conf"])
        #expect(merged.value(ConfigKeys.dumpLevel) == .integer(31))
    }

    @Test func emptyAssignmentResetsListsAndScalars() {
        let tree = TestTree()
        tree.write(
            "/etc/oopsd/oopsd.conf",
            "[Kernel]\nExtraModules=nvme\nExtraModules=mlx5_core xfs\nCommandLine=a\n[Capture]\nDumpLevel=1\n")
        tree.write(
            "/etc/oopsd/oopsd.conf.d/10.conf", "[Kernel]\nExtraModules=\nExtraModules=dm_mod\n[Capture]\nDumpLevel=\n")
        let merged = MergedConfiguration.load(root: tree.root)
        let config = OopsConfiguration(merged)
        #expect(config.kernel.extraModules == ["dm_mod"])
        #expect(config.kernel.commandLine == ["a"])
        #expect(config.capture.dumpLevel == 31)
        #expect(
            merged.entry(ConfigKeys.dumpLevel).origin == ConfigOrigin(file: "/etc/oopsd/oopsd.conf.d/10.conf", line: 5))

        let listsAppend = MergedConfiguration.load(
            root: {
                tree.write("/etc/oopsd/oopsd.conf.d/10.conf", "")
                return tree.root
            }())
        #expect(OopsConfiguration(listsAppend).kernel.extraModules == ["nvme", "mlx5_core", "xfs"])
    }

    @Test func everyValueTypeReachesTheTypedConfiguration() {
        let tree = TestTree()
        tree.write(
            "/etc/oopsd/oopsd.conf",
            """
            [Capture]
            Directory=/srv/crash
            DumpLevel=17
            Format=kdump
            Compression=zlib
            Timeout=1h 5min
            FinalAction=poweroff
            FailureAction=halt
            CPUs=2
            [Kernel]
            Image=/boot/vmlinuz-capture
            CommandLine=console=ttyS0 loglevel=7
            ExtraModules=mlx5_core
            OopsModule=yes
            PanicTimeout=30s
            [Retention]
            MaxDumps=3
            MaxUse=2G
            KeepFree=12.5%
            DeleteUnshipped=true
            [Service]
            RearmDelay=500ms
            """)
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(merged.diagnostics.isEmpty)
        let config = OopsConfiguration(merged)
        #expect(
            config.capture
                == .init(
                    directory: "/srv/crash", target: "", dumpLevel: 17, format: .kdump, compression: .zlib,
                    timeout: TimeSpan(seconds: 3900), finalAction: .powerOff, failureAction: .halt, returnKernel: "",
                    returnInitramfs: "",
                    cpus: 2))
        #expect(
            config.kernel
                == .init(
                    image: "/boot/vmlinuz-capture", commandLine: ["console=ttyS0", "loglevel=7"],
                    extraModules: ["mlx5_core"], oopsModule: true, panicTimeout: TimeSpan(seconds: 30)))
        #expect(
            config.retention
                == .init(
                    maxDumps: 3, maxUse: .bytes(2 << 30), keepFree: .perMille(125),
                    deleteUnshipped: true))
        #expect(config.service.rearmDelay == TimeSpan(microseconds: 500_000))
    }

    @Test func badValuesNameFileLineAndExpectationAndKeepTheEarlierValue() {
        let tree = TestTree()
        tree.write("/etc/oopsd/oopsd.conf", "[Capture]\nDumpLevel=7\n")
        tree.write(
            "/etc/oopsd/oopsd.conf.d/10-fleet.conf",
            """
            [Capture]
            Format=tar
            Timeout=soon
            Directory=relative/path
            CPUs=0

            DumpLevel=40
            [Retention]
            MaxUse=lots
            DeleteUnshipped=perhaps
            """)
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(!merged.isValid)
        #expect(
            merged.errors.map(\.description) == [
                "/etc/oopsd/oopsd.conf.d/10-fleet.conf:2: Format=tar: expected one of elf, kdump",
                "/etc/oopsd/oopsd.conf.d/10-fleet.conf:3: Timeout=soon: expected a time span (e.g. 90s, 15min, 1h 30min)",
                "/etc/oopsd/oopsd.conf.d/10-fleet.conf:4: Directory=relative/path: expected an absolute path",
                "/etc/oopsd/oopsd.conf.d/10-fleet.conf:5: CPUs=0: expected 1..64",
                "/etc/oopsd/oopsd.conf.d/10-fleet.conf:7: DumpLevel=40: expected 0..31",
                "/etc/oopsd/oopsd.conf.d/10-fleet.conf:9: MaxUse=lots: expected a size (e.g. 512M, 2G) or a percentage (e.g. 10%)",
                "/etc/oopsd/oopsd.conf.d/10-fleet.conf:10: DeleteUnshipped=perhaps: expected yes or no (also true/false, on/off, 1/0)",
            ])
        #expect(merged.value(ConfigKeys.dumpLevel) == .integer(7))
    }

    @Test func unknownKeysAndSectionsAreWarningsWithFileAndLine() {
        let tree = TestTree()
        tree.write("/etc/oopsd/oopsd.conf", "[Capture]\ndumplevel=3\nColour=blue\n[Network]\nHost=x\n")
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(merged.isValid)
        #expect(
            merged.diagnostics.map(\.description) == [
                "/etc/oopsd/oopsd.conf:2: warning: unknown key dumplevel= in [Capture], ignored; did you mean DumpLevel=?",
                "/etc/oopsd/oopsd.conf:3: warning: unknown key Colour= in [Capture], ignored",
                "/etc/oopsd/oopsd.conf:5: warning: unknown section [Network]; Host= ignored",
            ])
    }

    @Test func directoriesWhereFilesWereExpectedAndTheReverse() {
        let tree = TestTree()
        tree.mkdir("/etc/oopsd/oopsd.conf")
        tree.mkdir("/etc/oopsd/oopsd.conf.d/10-dir.conf")
        tree.write("/run/oopsd/oopsd.conf.d", "[Capture]\n")
        tree.write("/etc/oopsd/oopsd.conf.d/20-ok.conf", "[Capture]\nDumpLevel=2\n")
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(
            merged.errors.map(\.description) == [
                "/run/oopsd/oopsd.conf.d: is not a directory; expected a directory of *.conf drop-ins",
                "/etc/oopsd/oopsd.conf: is a directory; expected a configuration file",
                "/etc/oopsd/oopsd.conf.d/10-dir.conf: is a directory; expected a configuration file",
            ])
        #expect(merged.value(ConfigKeys.dumpLevel) == .integer(2))
    }

    @Test func unreadableFileIsAnErrorAndOthersStillApply() {
        let tree = TestTree()
        // A symlink loop cannot be read even by root.
        tree.symlink("/etc/oopsd/oopsd.conf.d/10-loop.conf", to: "10-loop.conf")
        tree.write("/etc/oopsd/oopsd.conf.d/20-ok.conf", "[Capture]\nDumpLevel=2\n")
        let merged = MergedConfiguration.load(root: tree.root)
        #expect(
            merged.errors.map(\.description) == [
                "/etc/oopsd/oopsd.conf.d/10-loop.conf: cannot read: Too many levels of symbolic links (ELOOP)"
            ])
        #expect(merged.value(ConfigKeys.dumpLevel) == .integer(2))
    }

    @Test func nonConfFilesAndHiddenFilesAreIgnored() {
        let tree = TestTree()
        tree.write("/etc/oopsd/oopsd.conf.d/10.conf.rpmsave", "[Capture]\nDumpLevel=1\n")
        tree.write("/etc/oopsd/oopsd.conf.d/.20.conf", "[Capture]\nDumpLevel=2\n")
        tree.write("/etc/oopsd/oopsd.conf.d/README", "not config")
        #expect(MergedConfiguration.load(root: tree.root).files.isEmpty)
    }

    @Test func annotatedViewShowsOriginsAndDefaults() {
        let tree = TestTree()
        tree.write("/etc/oopsd/oopsd.conf.d/10-fleet.conf", "[Capture]\nDumpLevel=1\n")
        let text = ConfigRendering.annotated(MergedConfiguration.load(root: tree.root))
        #expect(text.contains("DumpLevel=1           # /etc/oopsd/oopsd.conf.d/10-fleet.conf:2\n"))
        #expect(text.contains("Directory=/var/crash  # default\n"))
        #expect(text.hasPrefix("# files applied, in order:\n#   /etc/oopsd/oopsd.conf.d/10-fleet.conf\n"))
    }

    @Test func jsonEscapesAndCarriesDiagnostics() {
        var merged = MergedConfiguration()
        merged.apply(text: "[Kernel]\nCommandLine=a\"b\\c\n[Capture]\nDumpLevel=x\n", file: "/f.conf")
        let json = ConfigRendering.json(merged)
        #expect(json.contains(#""CommandLine":{"value":"a\"b\\c","origin":"/f.conf:2"}"#))
        #expect(
            json.contains(#"{"severity":"error","file":"/f.conf","line":4,"message":"DumpLevel=x: expected 0..31"}"#))
        #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8))) != nil)
    }
}
