import DumpFormat
import Testing

@Suite struct CapturePlanTests {
    static let plan = CapturePlan(
        kernelRelease: "6.1.0-56-amd64", targetUUID: "0b5c6d2e-1111-2222-3333-444455556666", targetType: "ext4",
        targetDirectory: "/crash dumps", directory: "/var/crash dumps",
        settings: CaptureSettings(
            dumpLevel: DumpLevel(31)!, format: .kdump, compression: .zstd, timeoutSeconds: 1800, finalAction: .reboot,
            failureAction: .powerOff),
        modules: [
            "/lib/modules/6.1.0-56-amd64/kernel/drivers/virtio/virtio.ko",
            "/lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko.xz",
        ])

    static let text = """
        version=1
        kernel_release=6.1.0-56-amd64
        target_uuid=0b5c6d2e-1111-2222-3333-444455556666
        target_type=ext4
        target_directory=/crash dumps
        directory=/var/crash dumps
        dump_level=31
        format=kdump
        compression=zstd
        timeout_seconds=1800
        final_action=reboot
        failure_action=poweroff
        module=/lib/modules/6.1.0-56-amd64/kernel/drivers/virtio/virtio.ko
        module=/lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko.xz

        """

    @Test func writesExactTextAndReadsItBack() throws {
        #expect(try Self.plan.text() == Self.text)
        #expect(try CapturePlan(parsing: Self.text) == Self.plan)
    }

    /// A network capture with no local target: empty UUID, type and directory are written and read back as such.
    @Test func planWithoutALocalTargetRoundTrips() throws {
        var plan = Self.plan
        (plan.targetUUID, plan.targetType, plan.targetDirectory) = ("", "", "")
        #expect(Self.plan.hasLocalTarget)
        #expect(!plan.hasLocalTarget)
        let text = try plan.text()
        #expect(text.contains("\ntarget_uuid=\ntarget_type=\ntarget_directory=\n"))
        #expect(try CapturePlan(parsing: text) == plan)
    }

    @Test func returnKernelKeysRoundTripAndDigestsAreChecked() throws {
        var plan = Self.plan
        plan.settings.finalAction = .kexec
        let digest = String(repeating: "ab", count: 32)
        plan.returnKernel = .available(
            ReturnKernelFiles(
                kernel: "/boot/vmlinuz-6.1.0-56-amd64", kernelSHA256: digest,
                initramfs: "/boot/initrd.img-6.1.0-56-amd64",
                initramfsSHA256: digest, fileSystemUUID: "0b5c6d2e-1111-2222-3333-444455556666",
                commandLine: "root=/dev/vda1 ro quiet"))
        let text = try plan.text()
        #expect(
            text.contains("final_action=kexec\nfailure_action=poweroff\nreturn_kernel=/boot/vmlinuz-6.1.0-56-amd64\n"))
        #expect(try CapturePlan(parsing: text) == plan)
        let bad = text.replacingFirst("return_kernel_sha256=\(digest)", with: "return_kernel_sha256=xyz")
        let error = try #require(throws: CapturePlanError.self) { try CapturePlan(parsing: bad) }
        #expect(
            error.description
                == "/etc/oopsd/capture-plan line 14: return_kernel_sha256: expected 64 lower-case hexadecimal digits, "
                + "found \"xyz\"")
        plan.returnKernel = .unavailable(reason: "/boot/initrd.img-6.1.0-56-amd64 does not exist")
        #expect(try CapturePlan(parsing: try plan.text()) == plan)
    }

    @Test func returnCommandLineCarriesOneMarker() {
        let files = ReturnKernelFiles(
            kernel: "/k", kernelSHA256: "", initramfs: "/i", initramfsSHA256: "", fileSystemUUID: "u",
            commandLine: "root=/dev/vda ro oopsd.after-crash=old panic=5")
        let line = files.returnCommandLine(dumpName: "20261203T150000Z-0123abcd")
        #expect(line == "root=/dev/vda ro panic=5 oopsd.after-crash=20261203T150000Z-0123abcd")
        #expect(ReturnKernelFiles.afterCrash(inCommandLine: line + "\n") == "20261203T150000Z-0123abcd")
        #expect(ReturnKernelFiles.afterCrash(inCommandLine: "root=/dev/vda ro\n") == nil)
    }

    @Test func valueWithNewlineCannotBeWritten() {
        var plan = Self.plan
        plan.targetDirectory = "/a\nb"
        #expect(throws: CapturePlanError(line: 0, message: "the value of target_directory contains a line break")) {
            try plan.text()
        }
    }

    @Test(arguments: [
        (Self.text.replacingFirst("version=1", "version=2"), "line 1: plan version 2, this oopsd-capture reads 1"),
        (
            Self.text.replacingFirst("dump_level=31", "dump_level=all"),
            "line 7: dump_level: expected an integer, found \"all\""
        ),
        (
            Self.text.replacingFirst("final_action=reboot", "final_action=explode"),
            "line 11: final_action: expected reboot, poweroff, halt or kexec, found \"explode\""
        ),
        (
            Self.text.replacingFirst("dump_level=31", "dump_level=32"),
            "line 7: dump_level: expected 0 to 31, found \"32\""
        ),
        (
            Self.text.replacingFirst("format=kdump", "format=raw"),
            "line 8: format: expected elf or kdump, found \"raw\""
        ),
        (
            Self.text.replacingFirst("compression=zstd", "compression=lz4"),
            "line 9: compression: expected zstd, zlib or none, found \"lz4\""
        ),
        (Self.text.replacingFirst("format=kdump\n", ""), ": missing key format"),
        (Self.text + "colour=blue\n", "line 15: unknown key \"colour\""),
        (Self.text + "format=elf\n", "line 15: format repeats (first on line 8)"),
        (
            Self.text.replacingFirst("compression=zstd", "compression zstd"),
            "line 9: expected key=value, found \"compression zstd\""
        ),
    ])
    func malformedPlanNamesTheLine(text: String, message: String) {
        let error = #expect(throws: CapturePlanError.self) { try CapturePlan(parsing: text) }
        let prefix = "/etc/oopsd/capture-plan"
        #expect(error?.description == prefix + (message.hasPrefix(":") ? message : " " + message))
    }
}

extension String {
    /// The text with the first occurrence of `target` replaced.
    fileprivate func replacingFirst(_ target: String, _ replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}
