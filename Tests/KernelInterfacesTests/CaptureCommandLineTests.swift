import KernelInterfaces
import TestSupport
import Testing

@Suite struct CaptureCommandLineTests {
    static let tail = "irqpoll reset_devices cgroup_disable=memory numa=off acpi_no_memhotplug nr_cpus=1 panic=10"

    @Test(arguments: [
        // A Debian GRUB line: everything but the console goes.
        (
            "BOOT_IMAGE=/boot/vmlinuz-6.1.0-56-amd64 root=UUID=1234 ro crashkernel=256M quiet splash console=ttyS0,115200",
            "ro console=ttyS0,115200 " + tail
        ),
        // Hugepage and memory-layout options.
        (
            "hugepages=512 hugepagesz=2M default_hugepagesz=2M mem=4G memmap=64M$0x10000000 movablecore=1G kernelcore=2G "
                + "numa=fake=4 iommu=pt",
            "iommu=pt " + tail
        ),
        // Dashes and underscores are the same parameter; CPU limits and panic are replaced, not duplicated.
        (
            "nr-cpus=8 maxcpus=4 panic=0 irqpoll reset_devices initrd=/initrd.img resume=/dev/sda2 resume_offset=4",
            tail
        ),
        // A quoted value with spaces survives verbatim.
        ("dyndbg=\"file drivers/* +p\" quiet console=tty0", "dyndbg=\"file drivers/* +p\" console=tty0 " + tail),
        // Init arguments after -- are dropped: they were for the crashed system's init.
        ("console=ttyS0 -- single emergency", "console=ttyS0 " + tail),
        // The running root's file system type is not the capture's rootfs.
        ("root=/dev/vda1 rootfstype=ext4 rootflags=data=journal", tail),
        // init= and rdinit= would replace the capture program.
        ("init=/lib/systemd/systemd rdinit=/sbin/init crashkernel=1G-4G:192M,4G-:512M", tail),
    ])
    func derivation(running: String, expected: String) {
        #expect(CaptureCommandLine.derive(from: running + "\n", panicSeconds: 10) == expected)
    }

    @Test func extraComesLastAndCPUsAndPanicAreConfigurable() {
        let derived = CaptureCommandLine.derive(
            from: "root=/dev/vda console=ttyS0", panicSeconds: 30, cpus: 2, extra: "nokaslr  foo=\"x y\"")
        #expect(
            derived == "console=ttyS0 irqpoll reset_devices cgroup_disable=memory numa=off acpi_no_memhotplug "
                + "nr_cpus=2 panic=30 nokaslr foo=\"x y\"")
    }

    @Test func ramfsRootIsAskedForBeforeTheExtraLine() {
        let derived = CaptureCommandLine.derive(
            from: "rootfstype=ext4 console=ttyS0", panicSeconds: 10, extra: "rootfstype=tmpfs", rootFileSystem: .ramfs)
        #expect(
            derived == "console=ttyS0 irqpoll reset_devices cgroup_disable=memory numa=off acpi_no_memhotplug "
                + "rootfstype=ramfs nr_cpus=1 panic=10 rootfstype=tmpfs")
    }

    /// The figures of Debian 6.1 with the S3 network initramfs (init_size 63.6 MiB, 16.6 MiB compressed, 41.6 MiB
    /// unpacked): tmpfs cut it at 160M, ramfs sent the dump at 144M and 160M and ran out of memory at 128M.
    @Test(arguments: [
        (UInt64(128), CaptureRootFileSystem.tmpfs), (136, .tmpfs), (144, .ramfs), (160, .ramfs), (256, .tmpfs),
    ])
    func rootFileSystemOfTheNetworkInitramfs(reservedMiB: UInt64, expected: CaptureRootFileSystem) {
        let chosen = CaptureRootFileSystem.choose(
            reservedBytes: reservedMiB << 20, kernelInitSize: 65120 << 10, compressedBytes: 17009 << 10,
            unpackedBytes: 43_620_000)
        #expect(chosen == expected)
    }

    /// The diskless network initramfs of Debian 6.1 (no disk modules: 16,434 KiB compressed, 39.2 MiB unpacked):
    /// ramfs sent the dump at 144M, ran out of memory while unpacking at 136M (where a 16 MiB headroom chose it);
    /// tmpfs held it whole at 160M and cut it at 128M.
    @Test(arguments: [
        (UInt64(128), CaptureRootFileSystem.tmpfs), (136, .tmpfs), (144, .ramfs), (160, .tmpfs),
    ])
    func rootFileSystemOfTheDisklessNetworkInitramfs(reservedMiB: UInt64, expected: CaptureRootFileSystem) {
        let chosen = CaptureRootFileSystem.choose(
            reservedBytes: reservedMiB << 20, kernelInitSize: 65120 << 10, compressedBytes: 16434 << 10,
            unpackedBytes: 41_100_000)
        #expect(chosen == expected)
    }

    @Test func aSmallInitramfsOrAnUnknownReservationKeepsTmpfs() {
        // The local-disk initramfs of Debian 6.1 (4.5 MiB, 12.5 MiB unpacked) at the smallest reservation, 104M.
        #expect(
            CaptureRootFileSystem.choose(
                reservedBytes: 104 << 20, kernelInitSize: 65120 << 10, compressedBytes: 4576 << 10,
                unpackedBytes: 12_500_000) == .tmpfs)
        #expect(
            CaptureRootFileSystem.choose(
                reservedBytes: 0, kernelInitSize: 65120 << 10, compressedBytes: 17009 << 10, unpackedBytes: 43_620_000)
                == .tmpfs)
    }

    @Test func readsProcCmdlineUnderRoot() throws {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        try fixture.write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz console=ttyS0 crashkernel=256M\n")
        #expect(try CaptureCommandLine.derive(root: fixture.root, panicSeconds: 10) == "console=ttyS0 " + Self.tail)
    }

    @Test func splitterKeepsQuotesAndFindsInitArguments() {
        let line = KernelCommandLine(parsing: "  a=1\tb=\"two words\" \"c d\"  -- x y\n")
        #expect(line.parameters.map(\.text) == ["a=1", "b=\"two words\"", "\"c d\""])
        #expect(line.initArguments == ["x", "y"])
        #expect(line.parameters[1].value == "\"two words\"")
        #expect(KernelCommandLine.Parameter("nr-cpus=2").normalizedName == "nr_cpus")
    }
}
