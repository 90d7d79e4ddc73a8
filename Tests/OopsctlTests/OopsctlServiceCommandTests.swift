import Foundation
import TestSupport
import Testing

/// A host root with a fake /sys and /proc, so status, arm and test read what a test lays out.
final class KernelRoot {
    let directory: TemporaryDirectory
    var path: String { directory.path }

    init() throws { directory = try TemporaryDirectory("oopsctl-kernel") }

    func write(_ file: String, _ text: String) { try! directory.write(file, text) }

    func read(_ file: String) -> String? { try? String(contentsOfFile: path + file, encoding: .utf8) }

    /// A kernel with `reserved` bytes of crashkernel= memory and the crash kernel loaded or not.
    func kernel(reserved: UInt64, loaded: Bool) {
        write("/sys/kernel/kexec_crash_size", "\(reserved)\n")
        write("/sys/kernel/kexec_crash_loaded", loaded ? "1\n" : "0\n")
        write(
            "/proc/iomem",
            "00000000-00000fff : Reserved\n00100000-3ffdffff : System RAM\n  2f000000-3effffff : Crash kernel\n")
        write("/proc/sysrq-trigger", "")
    }
}

@Suite struct OopsctlServiceCommandTests {
    @Test func statusSaysWhyNothingIsArmedAndExits3() throws {
        let root = try KernelRoot()
        root.kernel(reserved: 0, loaded: false)
        let run = try OopsctlRun(["status", "--root", root.path])
        #expect(run.status == 3)
        #expect(run.stdout.contains("State:       NOT ARMED\n"))
        #expect(
            run.stdout.contains(
                "Why:         not armed: no memory is reserved for a capture kernel (add crashkernel= to the kernel command line)\n"
            ))
        #expect(run.stdout.contains("Reservation: none\n"))
    }

    @Test func statusReportsTheServiceRecordWhenArmed() throws {
        let root = try KernelRoot()
        root.kernel(reserved: 268_435_456, loaded: true)
        root.write(
            "/run/oopsd/status.json",
            """
            {"armed": true, "message": "armed: 6.1.0-56-amd64, initramfs 3291 KiB, dumps to /var/crash",
             "kernelImage": "/boot/vmlinuz-6.1.0-56-amd64", "kernelRelease": "6.1.0-56-amd64",
             "commandLine": "console=ttyS0 irqpoll nr_cpus=1 panic=10", "modules": ["/lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko"],
             "image": {"path": "/var/lib/oopsd/initramfs-ab.img", "bytes": 3370496, "unpackedBytes": 11525996,
                       "sha256": "ab", "builtAt": "2026-11-26T02:50:00Z", "reused": false},
             "dumpDirectory": "/var/crash", "lastArmTime": "2026-11-26T02:50:01Z", "configErrors": []}
            """)
        let run = try OopsctlRun(["status", "--root", root.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("State:        armed\n"))
        #expect(run.stdout.contains("Why:          armed: 6.1.0-56-amd64, initramfs 3291 KiB, dumps to /var/crash\n"))
        #expect(run.stdout.contains("Reservation:  256M\n"))
        #expect(run.stdout.contains("Initramfs:    /var/lib/oopsd/initramfs-ab.img\n"))
        #expect(run.stdout.contains("Modules:      ext4.ko\n"))
        #expect(run.stdout.contains("Command line: console=ttyS0 irqpoll nr_cpus=1 panic=10\n"))
        #expect(run.stdout.contains("Last armed:   2026-11-26T02:50:01Z\n"))
        let json = try OopsctlRun(["status", "--root", root.path, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["armed"] as? Bool == true)
        #expect(object["reservationBytes"] as? Int == 268_435_456)
    }

    /// A machine armed for the network only has no local dump target: status says so instead of naming the
    /// directory, which the capture kernel cannot reach.
    @Test func statusOfANetworkOnlyArmingNamesNoLocalDumpTarget() throws {
        let root = try KernelRoot()
        root.kernel(reserved: 150_994_944, loaded: true)
        root.write(
            "/run/oopsd/status.json",
            """
            {"armed": true, "message": "armed: 6.1.0-57-amd64, initramfs 16426 KiB, dumps to s3://dumps/vm only",
             "modules": [], "dumpDirectory": "/var/crash", "configErrors": [],
             "localTargetMissing": "dump target /var/crash: is on tmpfs (tmpfs), not a block device"}
            """)
        let run = try OopsctlRun(["status", "--root", root.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout.contains(
                "Dump target: none on this machine, the network only (dump target /var/crash: is on tmpfs (tmpfs), "
                    + "not a block device)\n"))
        // A status file written before the field existed still reads, with the directory as the target.
        root.write(
            "/run/oopsd/status.json",
            #"{"armed": true, "message": "armed", "modules": [], "dumpDirectory": "/var/crash", "configErrors": []}"#)
        let older = try OopsctlRun(["status", "--root", root.path])
        #expect(older.status == 0, "\(older.stderr)")
        #expect(older.stdout.contains("Dump target: /var/crash ("))
    }

    @Test func statusDuringAReArmSaysReArmingNotUnloadedOutside() throws {
        // oopsd (this test process stands in for it) wrote "arming" and the kernel has unloaded the old capture
        // kernel while it loads the new one.
        let root = try KernelRoot()
        root.kernel(reserved: 268_435_456, loaded: false)
        root.write(
            "/run/oopsd/status.json",
            """
            {"armed": true, "message": "armed: 6.1.0-56-amd64, initramfs 3291 KiB, dumps to /var/crash",
             "modules": [], "configErrors": [], "pid": \(ProcessInfo.processInfo.processIdentifier),
             "arming": "a watched file changed", "sequence": 7}
            """)
        let run = try OopsctlRun(["status", "--root", root.path])
        #expect(run.status == 3)
        #expect(
            run.stdout.contains(
                "Why:         not armed for a moment: oopsd is re-arming (a watched file changed) and loads the new capture kernel\n"
            ), "\(run.stdout)")
        let json = try OopsctlRun(["status", "--root", root.path, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["arming"] as? String == "a watched file changed")
    }

    @Test func testRefusesWithoutYes() throws {
        let root = try KernelRoot()
        root.kernel(reserved: 268_435_456, loaded: true)
        let run = try OopsctlRun(["test", "--root", root.path])
        #expect(run.status == 2)
        #expect(run.stderr == "oopsctl test: this crashes the machine now; run again with --yes to confirm\n")
        #expect(root.read("/proc/sysrq-trigger") == "")
    }

    @Test func testRefusesWhenNothingIsArmedUnlessForced() throws {
        let root = try KernelRoot()
        root.kernel(reserved: 268_435_456, loaded: false)
        let refused = try OopsctlRun(["test", "--root", root.path, "--yes"])
        #expect(refused.status == 2)
        #expect(refused.stderr.hasPrefix("oopsctl test: no capture kernel is armed, so the crash would save nothing"))
        #expect(root.read("/proc/sysrq-trigger") == "")
        let forced = try OopsctlRun(["test", "--root", root.path, "--yes", "--force"])
        #expect(forced.status == 0)
        #expect(root.read("/proc/sysrq-trigger") == "c")
    }

    @Test func testOopsGoesThroughTheModuleTrigger() throws {
        let root = try KernelRoot()
        root.kernel(reserved: 268_435_456, loaded: true)
        let missing = try OopsctlRun(["test", "--root", root.path, "--yes", "--kind", "oops"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("the oopsd kernel module is not loaded"))
        root.write("/sys/module/oopsd/parameters/enable_triggers", "N\n")
        root.write("/sys/kernel/debug/oopsd/trigger", "")
        let run = try OopsctlRun(["test", "--root", root.path, "--yes", "--kind", "oops"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(root.read("/sys/module/oopsd/parameters/enable_triggers") == "1")
        #expect(root.read("/sys/kernel/debug/oopsd/trigger") == "null")
    }

    @Test func configValidateExitCodes() throws {
        let root = try KernelRoot()
        root.write("/etc/oopsd/oopsd.conf.d/10-fleet.conf", "[Capture]\nDumpLevel=40\n")
        let bad = try OopsctlRun(["config", "--root", root.path, "--validate"])
        #expect(bad.status == 1)
        #expect(bad.stderr == "/etc/oopsd/oopsd.conf.d/10-fleet.conf:2: DumpLevel=40: expected 0..31\n")
        root.write("/etc/oopsd/oopsd.conf.d/10-fleet.conf", "[Capture]\nDumpLevel=3\n")
        let good = try OopsctlRun(["config", "--root", root.path, "--validate"])
        #expect(good.status == 0)
        #expect(good.stdout == "1 file(s) read, 0 error(s), 0 warning(s)\n")
    }

    @Test func armRefusesABrokenConfigurationAndChangesNothing() throws {
        let root = try KernelRoot()
        root.kernel(reserved: 268_435_456, loaded: false)
        root.write("/etc/oopsd/oopsd.conf", "[Capture]\nFormat=tar\n")
        let run = try OopsctlRun(["arm", "--root", root.path])
        #expect(run.status == 1)
        #expect(
            run.stderr
                == "/etc/oopsd/oopsd.conf:2: Format=tar: expected one of elf, kdump\noopsctl arm: the configuration has errors; nothing was changed\n"
        )
        #expect(root.read("/sys/kernel/kexec_crash_loaded") == "0\n")
        #expect(root.read("/run/oopsd/status.json") == nil)
    }
}
