import Digest
import DumpFormat
import Initramfs
import KernelInterfaces
import SystemCalls
import Testing

@Suite(.serialized) struct CaptureImageBuilderTests {
    static func request(_ fixture: VirtioFixture, extra: [String] = []) -> CaptureImageRequest {
        CaptureImageRequest(
            root: fixture.root, kernelRelease: fixture.release, captureBinary: "/usr/libexec/oopsd/oopsd-capture",
            directory: "/var/crash", extraModules: extra,
            settings: CaptureSettings(
                dumpLevel: DumpLevel(31)!, format: .kdump, compression: .zstd, timeoutSeconds: 1800,
                finalAction: .reboot, failureAction: .powerOff))
    }

    @Test func buildsUnpackableImageWithPlanLibrariesAndModulesThenReusesIt() throws {
        let fixture = try VirtioFixture()
        let first = try CaptureImageBuilder.build(Self.request(fixture))
        #expect(!first.reused)
        #expect(first.compression == .zstd)  // Debian 6.1 has CONFIG_RD_ZSTD=y
        #expect(first.path == "/var/lib/oopsd/initramfs-\(first.key).img")
        let image = fixture.root.path(first.path)
        #expect(try FileSystem.status(image)?.size == first.compressedSize)

        let modules = "/lib/modules/\(fixture.release)/kernel/"
        #expect(
            first.plan.modules
                == [
                    "arch/x86/crypto/crc32c-intel.ko", "crypto/crc32c_generic.ko", "fs/jbd2/jbd2.ko", "fs/mbcache.ko",
                    "lib/crc16.ko", "fs/ext4/ext4.ko", "drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
                    "drivers/block/virtio_blk.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
                    "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci.ko",
                ].map { modules + $0 })
        #expect(first.plan.targetUUID == VirtioFixture.uuid)
        #expect(first.plan.targetType == "ext4")
        #expect(first.plan.targetDirectory == "/var/crash")

        // The kernel's view: zstd stream, then a newc archive.
        let listing = shell("zstd -dc \(image) | cpio -t --quiet")
        #expect(listing.status == 0)
        let names = Set(listing.output.split(separator: "\n").map(String.init))
        for expected in [
            "init", "dev/console", "proc", "sys", "etc/oopsd/capture-plan", "lib", "lib64",
            "usr/lib64/ld-linux-x86-64.so.2", "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/modules/\(fixture.release)/kernel/fs/ext4/ext4.ko",
        ] {
            #expect(names.contains(expected), "\(expected) missing from the image")
        }
        let out = fixture.path + "/unpacked"
        try FileSystem.makeDirectory(out)
        #expect(shell("cd \(out) && zstd -dc \(image) | cpio -i --quiet -f 'dev/console'").status == 0)
        let planText = try FileSystem.readText(out + "/etc/oopsd/capture-plan")
        #expect(try CapturePlan(parsing: planText) == first.plan)
        #expect(try FileSystem.readBytes(out + "/init") == FileSystem.readBytes("/usr/bin/cpio"))
        // Every module of the plan is where the plan says, through the lib -> usr/lib link.
        for module in first.plan.modules { #expect(FileSystem.exists(out + module), "\(module) not unpacked") }
        // The unpacked /init runs with the unpacked loader and libc.
        let run = shell(
            "\(out)/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path "
                + "\(out)/usr/lib/x86_64-linux-gnu \(out)/init --version | head -1")
        #expect(run.output.hasPrefix("cpio (GNU cpio)"))

        // Where the time went, for the journal: every step of a build, only the finding steps of a reuse.
        let finding = ["target", "kmod", "modules", "plan", "libraries", "config", "fingerprint", "lookup"]
        #expect(first.phases.map(\.name) == finding + ["archive", "compress", "write"])
        #expect(first.phases.allSatisfy { $0.seconds >= 0 })

        let second = try CaptureImageBuilder.build(Self.request(fixture))
        #expect(second.reused)
        #expect(second.phases.map(\.name) == finding)
        #expect(second.key == first.key)
        #expect(second.compressedSize == first.compressedSize)
        #expect(second.archiveSize == first.archiveSize)
        #expect(second.unpackedSize == first.unpackedSize)
    }

    /// The warm path trusts file metadata, not contents: an input rewritten in place (same size, same inode)
    /// still gives a new image, and a record whose image is gone or has another size is not trusted.
    /// A minimal 64-bit bzImage header in a 64 KiB file, and the production kernel's boot_params and memmap.
    static func writeReturnKernel(_ fixture: VirtioFixture, memmap: Bool = true) throws {
        var kernel = [UInt8](repeating: 0x90, count: 64 << 10)
        kernel[0x1f1] = 4
        kernel[0x201] = 0x6a
        kernel.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        kernel.replaceSubrange(0x206..<0x208, with: [0x0f, 0x02])
        kernel.replaceSubrange(0x230..<0x234, with: [0, 0, 0x20, 0])
        kernel.replaceSubrange(0x236..<0x238, with: [0x03, 0])
        kernel.replaceSubrange(0x260..<0x264, with: [0, 0, 0x10, 0])
        _ = try fixture.directory.write("/boot/vmlinuz-\(fixture.release)", kernel)
        _ = try fixture.directory.write("/boot/initrd.img-\(fixture.release)", Array("070701 an initramfs".utf8))
        var params = [UInt8](repeating: 0, count: 4096)
        params[0x1e8] = 1
        params.replaceSubrange(
            0x2d0..<0x2e4, with: [0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f] + [0, 0, 0, 0, 1, 0, 0, 0])
        _ = try fixture.directory.write("/sys/kernel/boot_params/data", params)
        if memmap {
            _ = try fixture.directory.write("/sys/firmware/memmap/0/start", "0x100000\n")
            _ = try fixture.directory.write("/sys/firmware/memmap/0/end", "0x3fffffff\n")
            _ = try fixture.directory.write("/sys/firmware/memmap/0/type", "System RAM\n")
        }
    }

    @Test func kexecFreezesTheReturnKernelWithItsDigestsAndBootParameters() throws {
        let fixture = try VirtioFixture()
        try Self.writeReturnKernel(fixture)
        var request = Self.request(fixture)
        request.settings.finalAction = .kexec
        request.returnKernel = ReturnKernelRequest(
            kernel: "/boot/vmlinuz-\(fixture.release)", initramfs: "/boot/initrd.img-\(fixture.release)",
            commandLine: "root=/dev/vda1 ro")
        let image = try CaptureImageBuilder.build(request)
        let kernelBytes = try FileSystem.readBytes(fixture.root.path("/boot/vmlinuz-\(fixture.release)"))
        #expect(
            image.plan.returnKernel
                == .available(
                    ReturnKernelFiles(
                        kernel: "/boot/vmlinuz-\(fixture.release)", kernelSHA256: SHA256.hex(kernelBytes),
                        initramfs: "/boot/initrd.img-\(fixture.release)",
                        initramfsSHA256: SHA256.hex(Array("070701 an initramfs".utf8)),
                        fileSystemUUID: VirtioFixture.uuid,
                        commandLine: "root=/dev/vda1 ro")))
        let listing = shell("zstd -dc \(fixture.root.path(image.path)) | cpio -t --quiet")
        #expect(listing.output.contains("etc/oopsd/boot_params\n"))
        #expect(listing.output.contains("etc/oopsd/firmware-memmap\n"))
    }

    @Test func kexecWithoutAFirmwareMapArmsAndSaysWhyItCannotReturn() throws {
        let fixture = try VirtioFixture()
        try Self.writeReturnKernel(fixture, memmap: false)
        var request = Self.request(fixture)
        request.settings.finalAction = .kexec
        request.returnKernel = ReturnKernelRequest(
            kernel: "/boot/vmlinuz-\(fixture.release)", initramfs: "/boot/initrd.img-\(fixture.release)",
            commandLine: "ro")
        let image = try CaptureImageBuilder.build(request)
        guard case .unavailable(let reason)? = image.plan.returnKernel else {
            Issue.record("expected the return to be unavailable, found \(String(describing: image.plan.returnKernel))")
            return
        }
        #expect(reason.contains("/sys/firmware/memmap"), "\(reason)")
    }

    @Test func inputsChangedInPlaceOrAStaleRecordRebuild() throws {
        let fixture = try VirtioFixture()
        let first = try CaptureImageBuilder.build(Self.request(fixture))
        let cache = fixture.root.path("/var/lib/oopsd")
        let records = try FileSystem.listDirectory(cache).filter { $0.hasPrefix("inputs-") }
        #expect(records.count == 1)
        #expect(try FileSystem.listDirectory(cache).sorted() == (records + ["initramfs-\(first.key).img"]).sorted())

        // Same size, same inode, other bytes: the change time moves.
        let module = fixture.root.path(first.plan.modules[0])
        let inode = try FileSystem.status(module)?.inode
        var bytes = try FileSystem.readBytes(module)
        bytes[bytes.count - 1] ^= 0xff
        let fd = try FileDescriptor.open(module, .writeOnly)
        try bytes.withUnsafeBytes { try fd.writeAll($0, atOffset: 0) }
        try fd.close()
        #expect(try FileSystem.status(module)?.inode == inode)
        let changed = try CaptureImageBuilder.build(Self.request(fixture))
        #expect(!changed.reused)
        #expect(changed.key != first.key)
        #expect(try FileSystem.listDirectory(cache).filter { $0.hasPrefix("inputs-") }.count == 1)

        // The record stays but its image is cut short: built again, same bytes as before.
        let image = fixture.root.path(changed.path)
        let full = try FileSystem.readBytes(image)
        try FileSystem.writeAtomically(image, Array(full.prefix(100)))
        let again = try CaptureImageBuilder.build(Self.request(fixture))
        #expect(!again.reused)
        #expect(again.key == changed.key)
        #expect(try FileSystem.readBytes(image) == full)
        #expect(try CaptureImageBuilder.build(Self.request(fixture)).reused)
    }

    @Test func sameInputsGiveSameBytesAndChangedInputsANewImage() throws {
        let fixture = try VirtioFixture()
        let first = try CaptureImageBuilder.build(Self.request(fixture))
        let bytes = try FileSystem.readBytes(fixture.root.path(first.path))
        try FileSystem.remove(fixture.root.path(first.path))
        let rebuilt = try CaptureImageBuilder.build(Self.request(fixture))
        #expect(!rebuilt.reused)
        #expect(try FileSystem.readBytes(fixture.root.path(rebuilt.path)) == bytes)

        let withLoop = try CaptureImageBuilder.build(Self.request(fixture, extra: ["loop"]))
        #expect(!withLoop.reused)
        #expect(withLoop.key != first.key)
        // Required modules (file system, extra) come before the device stack's.
        #expect(withLoop.plan.modules[6] == "/lib/modules/\(fixture.release)/kernel/drivers/block/loop.ko")
        #expect(withLoop.plan.modules.count == first.plan.modules.count + 1)
        // The superseded image is removed from the cache.
        #expect(
            try FileSystem.listDirectory(fixture.root.path("/var/lib/oopsd")).filter { !$0.hasPrefix("inputs-") }
                == ["initramfs-\(withLoop.key).img"])

        var changedPlan = Self.request(fixture)
        changedPlan.settings.dumpLevel = DumpLevel(1)!
        #expect(try CaptureImageBuilder.build(changedPlan).key != first.key)
    }
}
