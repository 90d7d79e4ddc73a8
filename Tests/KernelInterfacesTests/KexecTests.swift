import KernelInterfaces
import SystemCalls
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Records calls and either fails with an errno or, like the kernel, flips `kexec_crash_loaded`.
final class FakeKexec: KexecSystemCalls, @unchecked Sendable {
    var calls: [(commandLine: String?, flags: KexecFileFlags, kernelSize: UInt64?)] = []
    var failWith: Int32?
    let fixture: TemporaryDirectory
    var writesLoaded = true

    init(fixture: TemporaryDirectory) { self.fixture = fixture }

    func kexecFileLoad(kernelFD: Int32, initramfsFD: Int32, commandLine: String?, flags: KexecFileFlags) throws {
        let size = kernelFD >= 0 ? try FileDescriptor(rawValue: kernelFD).status().size : nil
        calls.append((commandLine, flags, size))
        if let failWith { throw SystemError("kexec_file_load", errno: failWith) }
        if writesLoaded {
            try fixture.write("/sys/kernel/kexec_crash_loaded", flags.contains(.unload) ? "0\n" : "1\n")
        }
    }
}

@Suite struct KexecTests {
    /// A fixture with a 256 MiB reservation, a kernel with init_size 48 MiB and a 3 MiB initramfs.
    static func armedFixture() throws -> TemporaryDirectory {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        try fixture.write("/sys/kernel/kexec_crash_size", "\(256 << 20)\n")
        try fixture.write("/sys/kernel/kexec_crash_loaded", "0\n")
        try fixture.write("/proc/self/status", "CapEff:\t000001ffffffffff\n")
        var kernel = [UInt8](repeating: 0, count: 0x1000)
        kernel.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        kernel[0x206] = 0x0f
        kernel[0x207] = 0x02  // protocol 2.15
        kernel[0x232] = 0x20  // kernel_alignment 2 MiB
        kernel[0x262] = 0x00
        kernel[0x263] = 0x03  // init_size 48 MiB
        try FileSystem.makeDirectory(fixture.root.path("/boot"), parents: true)
        try FileSystem.writeAtomically(fixture.root.path("/boot/vmlinuz-test"), kernel)
        try FileSystem.writeAtomically(
            fixture.root.path("/boot/capture.img"), [UInt8](repeating: 7, count: 3 << 20))
        return fixture
    }

    @Test func loadPassesOnCrashAndCommandLineAndConfirms() throws {
        let fixture = try Self.armedFixture()
        let fake = FakeKexec(fixture: fixture)
        let kexec = Kexec(root: fixture.root, calls: fake)
        try kexec.load(
            kernel: "/boot/vmlinuz-test", initramfs: "/boot/capture.img", commandLine: "console=ttyS0 panic=10")
        #expect(fake.calls.count == 1)
        #expect(fake.calls[0].commandLine == "console=ttyS0 panic=10")
        #expect(fake.calls[0].flags == .onCrash)
        #expect(fake.calls[0].kernelSize == 0x1000)
        #expect(try kexec.isLoaded())
        try kexec.unload()
        #expect(fake.calls[1].flags == [.unload, .onCrash])
        #expect(fake.calls[1].commandLine == nil)
        #expect(try !kexec.isLoaded())
    }

    @Test func noReservationSaysHowToAddCrashkernel() throws {
        let fixture = try Self.armedFixture()
        try fixture.write("/sys/kernel/kexec_crash_size", "0\n")
        let fake = FakeKexec(fixture: fixture)
        let error = try #require(throws: KexecError.self) {
            try Kexec(root: fixture.root, calls: fake).load(
                kernel: "/boot/vmlinuz-test", initramfs: "/boot/capture.img", commandLine: "")
        }
        #expect(fake.calls.isEmpty)
        #expect(
            error.description == "no memory is reserved for a capture kernel (/sys/kernel/kexec_crash_size is 0): "
                + "add crashkernel=256M to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot")
    }

    @Test func missingKernelNamesTheFile() throws {
        let fixture = try Self.armedFixture()
        let error = try #require(throws: KexecError.self) {
            try Kexec(root: fixture.root, calls: FakeKexec(fixture: fixture)).load(
                kernel: "/boot/vmlinuz-gone", initramfs: "/boot/capture.img", commandLine: "")
        }
        #expect(
            error.description
                == "cannot open a file to load: open \(fixture.path)/boot/vmlinuz-gone: No such file or directory (ENOENT)"
        )
    }

    @Test func loadedFileNotFlippedIsReported() throws {
        let fixture = try Self.armedFixture()
        let fake = FakeKexec(fixture: fixture)
        fake.writesLoaded = false
        let error = try #require(throws: KexecError.self) {
            try Kexec(root: fixture.root, calls: fake).load(
                kernel: "/boot/vmlinuz-test", initramfs: "/boot/capture.img", commandLine: "")
        }
        #expect(error.description == "kexec_file_load succeeded but /sys/kernel/kexec_crash_loaded does not read 1")
    }

    /// Each errno with the files that explain it, and the exact sentence a user reads.
    @Test(arguments: [
        (
            EADDRNOTAVAIL, [String: String](),
            "the capture kernel and initramfs do not fit in the crash reservation (EADDRNOTAVAIL): 256.0 MiB reserved, "
                + "at least 52.0 MiB needed to load them; raise crashkernel= in GRUB_CMDLINE_LINUX (see oopsctl "
                + "estimate) or shrink the initramfs (fewer [Kernel] ExtraModules=)"
        ),
        (
            ENOMEM, [:],
            "the capture kernel and initramfs do not fit in the crash reservation (ENOMEM): 256.0 MiB reserved, "
                + "at least 52.0 MiB needed to load them; raise crashkernel= in GRUB_CMDLINE_LINUX (see oopsctl "
                + "estimate) or shrink the initramfs (fewer [Kernel] ExtraModules=)"
        ),
        (
            EKEYREJECTED, ["/sys/kernel/security/lockdown": "none [integrity] confidentiality\n"],
            "the kernel refused the signature of /boot/vmlinuz-test (EKEYREJECTED: Key was rejected by service, "
                + "lockdown: integrity): use a kernel image signed by a key in the kernel's keyring (the distribution's "
                + "signed kernel, or enroll your key with mokutil --import)"
        ),
        (
            ENOKEY, [:],
            "the kernel refused the signature of /boot/vmlinuz-test (ENOKEY: Required key not available, "
                + "lockdown: none): use a kernel image signed by a key in the kernel's keyring (the distribution's "
                + "signed kernel, or enroll your key with mokutil --import)"
        ),
        (
            EBADMSG, [:],
            "the kernel refused the signature of /boot/vmlinuz-test (EBADMSG: Bad message, lockdown: none): use a "
                + "kernel image signed by a key in the kernel's keyring (the distribution's signed kernel, or enroll "
                + "your key with mokutil --import)"
        ),
        (
            EPERM, ["/sys/kernel/security/lockdown": "none [integrity] confidentiality\n"],
            "the kernel is locked down (integrity) and /boot/vmlinuz-test is not signed by a key it trusts (EPERM): "
                + "use the distribution's signed kernel image, or sign it and enroll the key with mokutil --import"
        ),
        (
            EPERM,
            [
                "/proc/sys/kernel/kexec_load_disabled": "1\n",
                "/sys/kernel/security/lockdown": "none [integrity] confidentiality\n",
            ],
            "kexec is disabled until the next boot (/proc/sys/kernel/kexec_load_disabled is 1, EPERM): find what sets "
                + "kernel.kexec_load_disabled (sysctl.d) and remove it, then reboot"
        ),
        (
            EPERM, ["/proc/self/status": "CapEff:\t0000000000000000\n", "/proc/sys/kernel/kexec_load_disabled": "1\n"],
            "loading a capture kernel needs CAP_SYS_BOOT (EPERM): run as root, or add CAP_SYS_BOOT to the service's "
                + "CapabilityBoundingSet= and AmbientCapabilities="
        ),
        (
            EPERM, [:],
            "the kernel refused to load /boot/vmlinuz-test (EPERM) though CAP_SYS_BOOT is held and lockdown is off: "
                + "check IMA appraisal policy and LSM logs in the kernel log (dmesg)"
        ),
        (EBUSY, [:], "another kexec load or unload is in progress (EBUSY): try again once it has finished"),
        (
            ENOEXEC, [:],
            "/boot/vmlinuz-test is not a kernel image the running kernel can load (ENOEXEC): [Kernel] Image= must name "
                + "a bzImage (e.g. /boot/vmlinuz-<release>)"
        ),
        (EINVAL, [:], "kexec_file_load: Invalid argument (EINVAL)"),
    ])
    func errnoBecomesSentence(errno: Int32, files: [String: String], sentence: String) throws {
        let fixture = try Self.armedFixture()
        for (file, text) in files { try fixture.write(file, text) }
        let fake = FakeKexec(fixture: fixture)
        fake.failWith = errno
        let error = try #require(throws: KexecError.self) {
            try Kexec(root: fixture.root, calls: fake).load(
                kernel: "/boot/vmlinuz-test", initramfs: "/boot/capture.img", commandLine: "")
        }
        #expect(error.description == sentence)
    }

    @Test func bzImageHeaderErrors() throws {
        let short = [UInt8](repeating: 0, count: 0x300)
        #expect(
            throws: KernelFileError(
                path: "k", expected: "the bzImage magic \"HdrS\" at offset 0x202",
                found: "\0\0\0\0")
        ) { try BzImageHeader(parsing: short, path: "k") }
        #expect(throws: KernelFileError(path: "k", expected: "a bzImage of at least 0x264 bytes", found: "16 bytes")) {
            try BzImageHeader(parsing: [UInt8](repeating: 0, count: 16), path: "k")
        }
    }
}

@Suite struct KexecErrorCauseTests {
    @Test func missingKernelKeepsOpenPathAndErrno() throws {
        let fixture = try KexecTests.armedFixture()
        let error = try #require(throws: KexecError.self) {
            try Kexec(root: fixture.root, calls: FakeKexec(fixture: fixture)).load(
                kernel: "/boot/vmlinuz-missing", initramfs: "/boot/capture.img", commandLine: "")
        }
        let path = fixture.root.path("/boot/vmlinuz-missing")
        #expect(error == .cannotOpen(SystemError("open", path: path, errno: .noSuchFileOrDirectory)))
        #expect(error.description == "cannot open a file to load: open \(path): No such file or directory (ENOENT)")
    }

    @Test func unreadableReservationSizeIsAKernelFileErrorNotAnErrno() throws {
        let fixture = try KexecTests.armedFixture()
        try fixture.write("/sys/kernel/kexec_crash_size", "lots\n")
        let error = try #require(throws: KexecError.self) {
            try Kexec(root: fixture.root, calls: FakeKexec(fixture: fixture)).load(
                kernel: "/boot/vmlinuz-test", initramfs: "/boot/capture.img", commandLine: "")
        }
        let path = fixture.root.path("/sys/kernel/kexec_crash_size")
        #expect(
            error.description
                == "cannot tell the state of the crash reservation: \(path): expected an unsigned decimal integer, "
                + "found \"lots\"")
    }
}
