import DumpFormat
import Initramfs
import KernelInterfaces
import SystemCalls
import Testing

/// `[Capture] Target=s3://...` at arm time: the default route's interface frozen (address, gateway, DNS, MAC, the
/// device's modules), and an image that carries it, the uploader and the root-only target file.
@Suite(.serialized) struct NetworkCaptureImageTests {
    /// The fixture plus a virtio-net interface eth0 (PCI 0000:00:03.0) holding the default route via 10.0.2.2.
    static func networkFixture() throws -> VirtioFixture {
        let fixture = try VirtioFixture()
        let d = fixture.directory
        let pci = try fixture.addVirtioDevice(
            slot: "0000:00:03.0", device: "virtio0",
            pciModalias: "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00",
            modalias: "virtio:d00000001v00001AF4", driver: "virtio_net")
        try d.write(pci + "/virtio0/net/eth0/address", "52:54:00:0D:0E:0F\n")
        try d.link(pci + "/virtio0/net/eth0/device", to: "../../../virtio0")
        try d.link("/sys/class/net/eth0", to: "../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0")
        _ = try d.write(
            "/proc/net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                + "eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
                + "eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")
        _ = try d.write("/etc/resolv.conf", "# systemd-resolved\nnameserver 127.0.0.53\n")
        _ = try d.write("/run/systemd/resolve/resolv.conf", "nameserver 10.0.2.3\nnameserver fe80::1\n")
        try d.write("/usr/libexec/oopsd/oopsd-capture-upload", try FileSystem.readBytes("/usr/bin/cpio"), mode: 0o755)
        return fixture
    }

    @Test func defaultRouteInterfaceIsFrozen() throws {
        let fixture = try Self.networkFixture()
        let interface = try DefaultRouteInterface(root: fixture.root) { name in
            name == "eth0" ? ("10.0.2.15", 24) : nil
        }
        #expect(
            interface.network
                == CaptureNetwork(
                    interface: "eth0", mac: "52:54:00:0d:0e:0f", address: "10.0.2.15", prefixLength: 24,
                    gateway: "10.0.2.2", dnsServers: ["10.0.2.3"]))
        #expect(interface.walk.driverModules == ["virtio_net", "virtio_pci"])
    }

    @Test func noDefaultRouteIsRefusedWithTheReason() throws {
        let fixture = try Self.networkFixture()
        _ = try fixture.directory.write("/proc/net/route", "Iface\tDestination\tGateway\n")
        #expect(
            throws: InitramfsError.target(
                path: fixture.root.path("/proc/net/route"),
                message: "no IPv4 default route: the capture kernel would not know how to reach the upload target")
        ) { try DefaultRouteInterface(root: fixture.root) { _ in ("10.0.2.15", 24) } }
    }

    @Test func imageCarriesUploaderNetworkAndRootOnlyTargetAndKey() throws {
        let fixture = try Self.networkFixture()
        var request = CaptureImageBuilderTests.request(fixture)
        request.upload = CaptureUpload(
            uploaderBinary: "/usr/libexec/oopsd/oopsd-capture-upload", targetText: "secret_key=s3cr3t\n",
            interface: try DefaultRouteInterface(root: fixture.root) { _ in ("10.0.2.15", 24) },
            secretFiles: [.init(path: "/etc/oopsd/capture-target-key", bytes: Array("-----BEGIN KEY-----\n".utf8))])
        let image = try CaptureImageBuilder.build(request)
        #expect(image.plan.modules.contains { $0.hasSuffix("/drivers/net/virtio_net.ko") })
        let listing = shell("zstd -dc \(fixture.root.path(image.path)) | cpio -tv --quiet")
        #expect(listing.status == 0)
        let lines = listing.output.split(separator: "\n").map(String.init)
        func line(_ path: String) -> String? { lines.first { $0.hasSuffix(" " + path) } }
        #expect(line("usr/libexec/oopsd/oopsd-capture-upload")?.hasPrefix("-rwxr-xr-x") == true)
        #expect(line("etc/oopsd/capture-target")?.hasPrefix("-rw-------") == true)
        #expect(line("etc/oopsd/capture-network")?.hasPrefix("-rw-r--r--") == true)
        #expect(line("etc/oopsd/capture-target-key")?.hasPrefix("-rw-------") == true)
        let out = fixture.path + "/unpacked"
        try FileSystem.makeDirectory(out)
        #expect(
            shell("cd \(out) && zstd -dc \(fixture.root.path(image.path)) | cpio -i --quiet -f 'dev/console'").status
                == 0)
        #expect(
            try CaptureNetwork(parsing: FileSystem.readText(out + "/etc/oopsd/capture-network"))
                == request.upload?.interface.network)
        #expect(try FileSystem.readText(out + "/etc/oopsd/capture-target") == "secret_key=s3cr3t\n")
        #expect(try FileSystem.readText(out + "/etc/oopsd/capture-target-key") == "-----BEGIN KEY-----\n")
    }

    /// A diskless machine: the dump directory on tmpfs. With `Target=` it arms for the network alone, the plan has
    /// no local target (nor its modules), says why, and a kexec return, read from the local target, is unavailable.
    /// Without `Target=` the same directory is still an error.
    @Test func networkTargetArmsWithoutALocalTargetAndSaysWhy() throws {
        let fixture = try Self.networkFixture()
        try FileSystem.makeDirectory(fixture.root.path("/run/crash"), parents: true)
        var request = CaptureImageBuilderTests.request(fixture)
        request.directory = "/run/crash"
        #expect(
            throws: InitramfsError.target(
                path: "/run/crash", message: "is on tmpfs (tmpfs), not a block device the capture kernel can mount")
        ) { try CaptureImageBuilder.build(request) }

        request.upload = CaptureUpload(
            uploaderBinary: "/usr/libexec/oopsd/oopsd-capture-upload", targetText: "secret_key=s3cr3t\n",
            interface: try DefaultRouteInterface(root: fixture.root) { _ in ("10.0.2.15", 24) }, secretFiles: [])
        request.settings.finalAction = .kexec
        request.returnKernel = ReturnKernelRequest(
            kernel: "/boot/vmlinuz-\(fixture.release)", initramfs: "/boot/initrd.img-\(fixture.release)",
            commandLine: "ro")
        let image = try CaptureImageBuilder.build(request)
        #expect(image.target == nil)
        #expect(
            image.localTargetMissing
                == "dump target /run/crash: is on tmpfs (tmpfs), not a block device the capture kernel can mount")
        #expect(!image.plan.hasLocalTarget)
        #expect(image.plan.targetUUID == "" && image.plan.targetType == "" && image.plan.targetDirectory == "")
        #expect(image.plan.directory == "/run/crash")
        #expect(image.plan.modules.contains { $0.hasSuffix("/drivers/net/virtio_net.ko") })
        #expect(!image.plan.modules.contains { $0.hasSuffix("/fs/ext4/ext4.ko") || $0.hasSuffix("/virtio_blk.ko") })
        guard case .unavailable(let reason)? = image.plan.returnKernel else {
            Issue.record("expected the return to be unavailable, found \(String(describing: image.plan.returnKernel))")
            return
        }
        #expect(reason.contains("no local dump target") || reason.contains("there is none"), "\(reason)")
        // What the capture kernel reads back is the same network-only plan.
        let out = fixture.path + "/unpacked-diskless"
        try FileSystem.makeDirectory(out)
        #expect(
            shell("cd \(out) && zstd -dc \(fixture.root.path(image.path)) | cpio -i --quiet -f 'dev/console'").status
                == 0)
        let plan = try CapturePlan(parsing: FileSystem.readText(out + "/etc/oopsd/capture-plan"))
        #expect(plan == image.plan && !plan.hasLocalTarget)
    }
}
