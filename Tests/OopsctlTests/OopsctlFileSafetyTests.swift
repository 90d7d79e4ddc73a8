import Foundation
import Testing

/// oopsctl on dump directories someone crafted: links, FIFOs, terminal escapes, leftovers of other runs.
@Suite struct OopsctlFileSafetyTests {
    @Test func dmesgThroughASymlinkIsRefused() throws {
        let root = try DumpRoot()
        let secret = "\(root.path)/root-only"
        try Data("root secret\n".utf8).write(to: URL(fileURLWithPath: secret))
        let dump = "\(root.crash)/20250102T000000Z-aaaa2222"
        try FileManager.default.removeItem(atPath: "\(dump)/dmesg.txt")
        try FileManager.default.createSymbolicLink(atPath: "\(dump)/dmesg.txt", withDestinationPath: secret)
        let run = try OopsctlRun(["dmesg", "20250102T000000Z-aaaa2222", "--root", root.path])
        #expect(run.status == 1)
        #expect(!run.stdout.contains("root secret"))
        #expect(
            run.stderr
                == "oopsctl: cannot read \(dump)/dmesg.txt: \(dump)/dmesg.txt is a symbolic link (not followed), "
                + "not a regular file; not read\n")
    }

    @Test func dmesgOfAFIFODoesNotBlock() throws {
        let root = try DumpRoot()
        let dump = "\(root.crash)/20250102T000000Z-aaaa2222"
        try FileManager.default.removeItem(atPath: "\(dump)/dmesg.txt")
        #expect(mkfifo("\(dump)/dmesg.txt", 0o600) == 0)
        // Without O_NONBLOCK the open would wait for a writer forever.
        let run = try OopsctlRun(["dmesg", "20250102T000000Z-aaaa2222", "--root", root.path])
        #expect(run.status == 1)
        #expect(run.stderr.hasSuffix("dmesg.txt is a FIFO or socket, not a regular file; not read\n"), "\(run.stderr)")
    }

    @Test func metadataThroughASymlinkAndFIFOsInADumpAreNotRead() throws {
        let root = try DumpRoot()
        let secret = "\(root.path)/root-only.json"
        try Data(#"{"status":"complete","kernel_release":"SECRET-RELEASE","panic_line":"SECRET-LINE"}"#.utf8)
            .write(to: URL(fileURLWithPath: secret))
        let linked = "\(root.crash)/20250101T000000Z-aaaa1111"
        try FileManager.default.removeItem(atPath: "\(linked)/metadata.json")
        try FileManager.default.createSymbolicLink(atPath: "\(linked)/metadata.json", withDestinationPath: secret)
        // FIFOs where a reader would wait for a writer forever.
        let fifos = "\(root.crash)/20250102T000000Z-aaaa2222"
        try FileManager.default.removeItem(atPath: "\(fifos)/metadata.json")
        for name in ["metadata.json", "upload-state.json", "report.json"] {
            #expect(mkfifo("\(fifos)/\(name)", 0o600) == 0)
        }
        let list = try OopsctlRun(["list", "--root", root.path])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(!list.stdout.contains("SECRET"), "\(list.stdout)")
        #expect(list.stdout.split(separator: "\n").count == 4, "\(list.stdout)")
        let info = try OopsctlRun(["info", "20250101T000000Z-aaaa1111", "--root", root.path])
        #expect(!info.stdout.contains("SECRET"), "\(info.stdout)")
        #expect(info.stdout.contains("metadata.json is a symbolic link (not followed)"), "\(info.stdout)")
    }

    @Test func terminalEscapesFromDumpsAreShownNotSent() throws {
        let root = try DumpRoot()
        let name = "20250104T000000Z-cccc\u{1b}]0;owned\u{07}"
        let dump = "\(root.crash)/\(name)"
        try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: false)
        let metadata =
            #"{"status":"complete","crash_time":1735948800,"kernel_release":"6.1\u001b[2J","panic_line":"Kernel panic - \u009b31m"}"#
        try Data(metadata.utf8).write(to: URL(fileURLWithPath: "\(dump)/metadata.json"))
        try Data("[    1.000000] Kernel panic - not syncing: \u{1b}[31mred\u{1b}[0m\n".utf8)
            .write(to: URL(fileURLWithPath: "\(dump)/dmesg.txt"))
        let list = try OopsctlRun(["list", "--root", root.path])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(!list.stdout.contains("\u{1b}") && !list.stdout.contains("\u{07}"))
        #expect(list.stdout.contains("20250104T000000Z-cccc\\x1b]0;owned\\x07"), "\(list.stdout)")
        #expect(list.stdout.contains("6.1\\x1b[2J"), "\(list.stdout)")
        let info = try OopsctlRun(["info", "-1", "--root", root.path])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(!info.stdout.contains("\u{1b}") && !info.stdout.contains("\u{9b}"))
        #expect(info.stdout.contains("Kernel:      6.1\\x1b[2J\n"), "\(info.stdout)")
        let dmesg = try OopsctlRun(["dmesg", "-1", "--root", root.path])
        #expect(dmesg.status == 0, "\(dmesg.stderr)")
        #expect(dmesg.stdout == "[    1.000000] Kernel panic - not syncing: \\x1b[31mred\\x1b[0m\n")
    }

    @Test func convertLeavesWhatItDidNotCreate() throws {
        let root = try DumpRoot()
        let output = "\(root.path)/out.kdump"
        // Trees with the names earlier versions used for their scratch space: not this run's to delete.
        for name in [".oopsctl-convert", ".oopsctl-convert.incomplete", ".oopsctl-convert-keep"] {
            try FileManager.default.createDirectory(atPath: output + name, withIntermediateDirectories: false)
            try Data("mine".utf8).write(to: URL(fileURLWithPath: output + name + "/file"))
        }
        let run = try OopsctlRun(["dump", "-1", "--format", "kdump", "-o", output, "--root", root.path])
        // The test vmcore is no ELF core: the conversion fails, and cleans up only its own scratch directory.
        #expect(run.status == 1)
        let left = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix("out.kdump") }
            .sorted()
        #expect(
            left == [
                "out.kdump.oopsctl-convert", "out.kdump.oopsctl-convert-keep", "out.kdump.oopsctl-convert.incomplete",
            ])
        for name in left { #expect(FileManager.default.fileExists(atPath: "\(root.path)/\(name)/file")) }
    }

    @Test func exportDoesNotTruncateAnExistingPartialFile() throws {
        let root = try DumpRoot()
        let output = "\(root.path)/out.vmcore"
        try Data("someone else's".utf8).write(to: URL(fileURLWithPath: output + ".oopsctl-partial"))
        let run = try OopsctlRun(["dump", "-1", "-o", output, "--root", root.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("out.vmcore.oopsctl-partial: exists"), "\(run.stderr)")
        #expect(try String(contentsOfFile: output + ".oopsctl-partial", encoding: .utf8) == "someone else's")
    }
}
