import Foundation
import TestSupport
import Testing

/// Runs the built `oopsctl` (next to the test bundle) against a test root with a dump directory.
struct OopsctlRun {
    var status: Int32
    var stdout: String
    var stderr: String

    static var executable: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var directory = bundle
        // swift test runs <scratch>/debug/<package>PackageTests.xctest; oopsctl is built next to it.
        for _ in 0..<3 where !FileManager.default.fileExists(atPath: directory.appendingPathComponent("oopsctl").path) {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("oopsctl").path
    }

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OopsctlRun.executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "OOPSD_ROOT")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        status = process.terminationStatus
        stdout = String(decoding: outData, as: UTF8.self)
        stderr = String(decoding: errData, as: UTF8.self)
    }
}

/// A host root whose /var/crash holds three small dumps (no vmcore memory worth reading: log and metadata).
final class DumpRoot {
    let directory: TemporaryDirectory
    var path: String { directory.path }
    var crash: String { "\(path)/var/crash" }

    static let dmesg = """
        [    1.000000] Linux version 6.1.0-56-amd64
        [   32.607263] Kernel panic - not syncing: sysrq triggered crash
        [   32.607300] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0-56-amd64 #1  Debian 6.1.140-1
        [   32.607883] Call Trace:
        [   32.608477]  <TASK>
        [   32.608603]  dump_stack_lvl+0x44/0x5c
        [   32.608955]  panic+0x118/0x2f4
        [   32.609011]  sysrq_handle_crash+0x16/0x20
        [   32.609157]  __handle_sysrq.cold+0x44/0x11c
        [   32.609213]  write_sysrq_trigger+0x24/0x40
        [   32.609263]  proc_reg_write+0x56/0xa0
        [   32.609313]  vfs_write+0xc7/0x3f0
        [   32.609406]  </TASK>

        """

    init() throws {
        directory = try TemporaryDirectory("oopsctl-dumps")
        try FileManager.default.createDirectory(atPath: crash, withIntermediateDirectories: true)
        try add("20250101T000000Z-aaaa1111", time: 1_735_689_600, status: "complete")
        try add("20250102T000000Z-aaaa2222", time: 1_735_776_000, status: "complete")
        try add("20250103T000000Z-bbbb3333.incomplete", time: 1_735_862_400, status: "incomplete")
    }

    func add(_ name: String, time: Int64, status: String) throws {
        let dump = "\(crash)/\(name)"
        try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: false)
        let metadata = #"{"status":"\#(status)","crash_time":\#(time),"kernel_release":"6.1.0-56-amd64"}"#
        try Data(metadata.utf8).write(to: URL(fileURLWithPath: "\(dump)/metadata.json"))
        try Data(DumpRoot.dmesg.utf8).write(to: URL(fileURLWithPath: "\(dump)/dmesg.txt"))
        // A small "vmcore": 3 MiB, mostly a hole of zeros in the middle, so the export can be checked byte for byte.
        var bytes = [UInt8](repeating: 0, count: 3 << 20)
        for index in 0..<4096 { bytes[index] = UInt8(truncatingIfNeeded: index * 7 + name.count) }
        bytes[bytes.count - 1] = 0x42
        try Data(bytes).write(to: URL(fileURLWithPath: "\(dump)/vmcore"))
    }
}

@Suite struct OopsctlDumpCommandTests {
    @Test func listTable() throws {
        let root = try DumpRoot()
        let run = try OopsctlRun(["list", "--root", root.path])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "ID                                    TIME (UTC)           KERNEL          COMPLETE  SIZE     SIGNATURE     PANIC",
                "20250101T000000Z-aaaa1111             2025-01-01 00:00:00  6.1.0-56-amd64  yes       3.0 MiB  5648324a4686  Kernel panic - not syncing: sysrq triggered crash",
                "20250102T000000Z-aaaa2222             2025-01-02 00:00:00  6.1.0-56-amd64  yes       3.0 MiB  5648324a4686  Kernel panic - not syncing: sysrq triggered crash",
                "20250103T000000Z-bbbb3333.incomplete  2025-01-03 00:00:00  6.1.0-56-amd64  no        3.0 MiB  5648324a4686  Kernel panic - not syncing: sysrq triggered crash",
            ])
    }

    @Test func listJSON() throws {
        let root = try DumpRoot()
        let run = try OopsctlRun(["list", "--json", "--root", root.path])
        #expect(run.status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(
            rows.map { $0["id"] as? String } == [
                "20250101T000000Z-aaaa1111", "20250102T000000Z-aaaa2222", "20250103T000000Z-bbbb3333.incomplete",
            ])
        #expect(rows.map { $0["complete"] as? Bool } == [true, true, false])
        #expect(rows[0]["signature"] as? String == "5648324a46867fbfb05e3f1c8d91ec9fb3d2d3c4b6db406acd280b4d67f661f6")
        #expect(rows[0]["crash_time"] as? Int == 1_735_689_600)
        let metadata = #"{"status":"complete","crash_time":1735689600,"kernel_release":"6.1.0-56-amd64"}"#
        #expect(rows[0]["size_bytes"] as? Int == 3 << 20 + DumpRoot.dmesg.utf8.count + metadata.utf8.count)
    }

    @Test func emptyDirectory() throws {
        let root = try DumpRoot()
        for name in try FileManager.default.contentsOfDirectory(atPath: root.crash) {
            try FileManager.default.removeItem(atPath: "\(root.crash)/\(name)")
        }
        let run = try OopsctlRun(["list", "--root", root.path])
        #expect(run.status == 0)
        #expect(run.stdout == "No dumps in \(root.crash).\n")
    }

    @Test func unreadableDirectory() throws {
        let root = try DumpRoot()
        try FileManager.default.removeItem(atPath: root.crash)
        let run = try OopsctlRun(["list", "--root", root.path])
        #expect(run.status == 1)
        #expect(run.stdout == "")
        #expect(run.stderr.hasPrefix("oopsctl: cannot read the dump directory \(root.crash): "), "\(run.stderr)")
        #expect(run.stderr.contains("No such file or directory"), "\(run.stderr)")
    }

    @Test func infoByNewestIndexAndPrefix() throws {
        let root = try DumpRoot()
        let newest = try OopsctlRun(["info", "-1", "--root", root.path])
        #expect(newest.status == 0, "\(newest.stderr)")
        #expect(newest.stdout.hasPrefix("Dump:        20250103T000000Z-bbbb3333.incomplete\n"))
        #expect(newest.stdout.contains("\nStatus:      INCOMPLETE\n"))
        #expect(newest.stdout.contains("\nTask:        init (PID 1) on CPU 0\n"))
        #expect(
            newest.stdout.contains(
                "\nFrames:      sysrq_handle_crash < __handle_sysrq < write_sysrq_trigger < proc_reg_write < vfs_write\n"
            ))
        // The fake vmcore is not an ELF core: the report says so instead of failing.
        #expect(newest.stdout.contains("  - vmcore: "), "\(newest.stdout)")
        let byPrefix = try OopsctlRun(["info", "20250101", "--root", root.path])
        #expect(byPrefix.stdout.hasPrefix("Dump:        20250101T000000Z-aaaa1111\n"))
        let second = try OopsctlRun(["info", "-3", "--root", root.path])
        #expect(second.stdout.hasPrefix("Dump:        20250101T000000Z-aaaa1111\n"))
        let json = try OopsctlRun(["info", "--json", "20250102T000000Z-aaaa2222", "--root", root.path])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["id"] as? String == "20250102T000000Z-aaaa2222")
        #expect(object["panic_line"] as? String == "Kernel panic - not syncing: sysrq triggered crash")
        #expect(object["schema_version"] as? Int == 1)
    }

    @Test func unknownAmbiguousAndOutOfRangeIDs() throws {
        let root = try DumpRoot()
        let unknown = try OopsctlRun(["info", "2024", "--root", root.path])
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "oopsctl: no dump matches '2024' in \(root.crash) (see 'oopsctl list')\n")
        let ambiguous = try OopsctlRun(["dmesg", "2025010", "--root", root.path])
        #expect(ambiguous.status == 2)
        #expect(
            ambiguous.stderr == """
                oopsctl: '2025010' matches 3 dumps; give more of the name:
                  20250101T000000Z-aaaa1111
                  20250102T000000Z-aaaa2222
                  20250103T000000Z-bbbb3333.incomplete

                """)
        let tooFar = try OopsctlRun(["info", "-4", "--root", root.path])
        #expect(tooFar.status == 2)
        #expect(tooFar.stderr == "oopsctl: there is no dump -4: \(root.crash) holds 3 dumps\n")
        let none = try OopsctlRun(["info", "--root", root.path])
        #expect(none.status == 64)
        #expect(none.stderr.contains("give the ID of a dump (see 'oopsctl list'), or -1 for the newest"))
    }

    @Test func dmesgPrintsTheLog() throws {
        let root = try DumpRoot()
        let run = try OopsctlRun(["dmesg", "-2", "--root", root.path])
        #expect(run.status == 0)
        #expect(run.stdout == DumpRoot.dmesg)
    }

    @Test func dumpExportsAndRefusesToOverwrite() throws {
        let root = try DumpRoot()
        let output = "\(root.path)/exported.vmcore"
        let first = try OopsctlRun(["dump", "20250102", "-o", output, "--root", root.path])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr == "wrote \(output) (3.0 MiB)\n")
        let original = try Data(contentsOf: URL(fileURLWithPath: "\(root.crash)/20250102T000000Z-aaaa2222/vmcore"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == original)
        let attributes = try FileManager.default.attributesOfItem(atPath: output)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let again = try OopsctlRun(["dump", "20250102", "-o", output, "--root", root.path])
        #expect(again.status == 1)
        #expect(again.stderr == "oopsctl: \(output) exists; add --force to replace it\n")
        let forced = try OopsctlRun(["dump", "-1", "-o", output, "--force", "--root", root.path])
        #expect(forced.status == 0)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: output))
                == Data(contentsOf: URL(fileURLWithPath: "\(root.crash)/20250103T000000Z-bbbb3333.incomplete/vmcore")))
    }

    /// A dump captured with Format=kdump: its memory is vmcore.kdump, there is no vmcore.
    @Test func kdumpDumpIsExportedDebuggedAndReported() throws {
        let root = try DumpRoot()
        let dump = "\(root.crash)/20250102T000000Z-aaaa2222"
        try FileManager.default.moveItem(atPath: "\(dump)/vmcore", toPath: "\(dump)/vmcore.kdump")
        let output = "\(root.path)/exported.kdump"
        let exported = try OopsctlRun(["dump", "20250102", "-o", output, "--root", root.path])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: output))
                == Data(contentsOf: URL(fileURLWithPath: "\(dump)/vmcore.kdump")))

        let bin = "\(root.path)/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: false)
        let fake = "\(bin)/drgn"
        try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: fake))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        let debug = try OopsctlRun(
            ["debug", "20250102", "--print-command", "--root", root.path], environment: ["PATH": bin])
        #expect(debug.status == 0, "\(debug.stderr)")
        #expect(debug.stdout == "\(fake) -c \(dump)/vmcore.kdump\n")

        let info = try OopsctlRun(["info", "20250102", "--root", root.path])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(
            info.stdout.contains("\nPanic:       Kernel panic - not syncing: sysrq triggered crash\n"), "\(info.stdout)"
        )
        // The fixture's "vmcore.kdump" is an ELF file under the kdump name: the report says why it could not be read.
        #expect(
            info.stdout.contains("  - vmcore.kdump: \(dump)/vmcore.kdump: no KDUMP signature at offset 0"),
            "\(info.stdout)")
        #expect(!info.stdout.contains("no vmcore in the dump"), "\(info.stdout)")

        // Neither file: the debugger is not started and the message names both.
        try FileManager.default.removeItem(atPath: "\(dump)/vmcore.kdump")
        let none = try OopsctlRun(
            ["debug", "20250102", "--print-command", "--root", root.path], environment: ["PATH": bin])
        #expect(none.status == 1)
        #expect(
            none.stderr
                == "oopsctl: 20250102T000000Z-aaaa2222 has no vmcore (neither \(dump)/vmcore nor vmcore.kdump): only its log and report exist\n"
        )
    }

    @Test func debugSaysWhatToInstall() throws {
        let root = try DumpRoot()
        let empty = "\(root.path)/emptybin"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        let none = try OopsctlRun(["debug", "-1", "--root", root.path], environment: ["PATH": empty])
        #expect(none.status == 1)
        #expect(
            none.stderr == """
                oopsctl: no kernel debugger found in $PATH (looked for drgn and crash).
                Install drgn, which reads the symbols from the dump itself: apt install python3-drgn (or: pip install drgn)
                or crash with the kernel's debug symbols: apt install crash linux-image-6.1.0-56-amd64-dbg

                """)
        // A drgn on $PATH: the command it would run.
        let fake = "\(empty)/drgn"
        try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: fake))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        let found = try OopsctlRun(
            ["debug", "20250101", "--print-command", "--root", root.path], environment: ["PATH": empty])
        #expect(found.status == 0)
        #expect(found.stdout == "\(fake) -c \(root.crash)/20250101T000000Z-aaaa1111/vmcore\n")
    }
}
