import Initramfs
import KernelInterfaces
import SystemCalls
import TestSupport
import Testing

@Suite(.serialized) struct DumpTargetTests {
    @Test func findsMountUUIDAndDeviceStack() throws {
        let fixture = try VirtioFixture()
        let target = try DumpTarget(directory: "/var/crash", root: fixture.root)
        #expect(target.identity == FileSystemIdentity(type: "ext4", uuid: VirtioFixture.uuid))
        #expect(target.directoryInFileSystem == "/var/crash")
        #expect(target.mount.source == "/dev/vda1")
        #expect(target.walk.driverModules == ["virtio_blk", "virtio_pci"])
        #expect(
            target.walk.modaliases == [
                "virtio:d00000002v00001AF4", "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00",
            ])
        let pci = fixture.path + "/sys/devices/pci0000:00"
        #expect(
            target.walk.devices == [
                pci + "/0000:00:04.0/virtio1/block/vda/vda1", pci + "/0000:00:04.0/virtio1/block/vda",
                pci + "/0000:00:04.0/virtio1/block", pci + "/0000:00:04.0/virtio1", pci + "/0000:00:04.0", pci,
            ])
    }

    @Test func tmpfsIsRefusedWithTheReason() throws {
        let fixture = try VirtioFixture()
        try FileSystem.makeDirectory(fixture.root.path("/run/crash"), parents: true)
        #expect(
            throws: InitramfsError.target(
                path: "/run/crash", message: "is on tmpfs (tmpfs), not a block device the capture kernel can mount")
        ) { try DumpTarget(directory: "/run/crash", root: fixture.root) }
    }

    @Test func missingDirectoryIsNamed() throws {
        let fixture = try VirtioFixture()
        let error = #expect(throws: InitramfsError.self) { try DumpTarget(directory: "/srv/dumps", root: fixture.root) }
        #expect(
            error?.description
                == "dump target /srv/dumps: does not exist (create it or set [Capture] Directory=)")
    }

    @Test func mountinfoEscapesBindRootsAndLongestPrefix() throws {
        let table = try MountTable(
            parsing: """
                21 1 8:1 / / rw - ext4 /dev/sda1 rw
                30 21 8:17 /@dumps /var/crash\\040dir rw shared:3 master:1 - btrfs /dev/sdb1 rw
                31 21 8:33 / /var rw - xfs /dev/sdc1 rw

                """)
        let crash = try #require(table.mount(containing: "/var/crash dir/2024"))
        #expect(crash.mountPoint == "/var/crash dir")
        #expect(crash.fileSystemType == "btrfs")
        #expect((crash.major, crash.minor) == (8, 17))
        #expect(MountTable.pathInFileSystem("/var/crash dir/2024", mount: crash) == "/@dumps/2024")
        let variable = try #require(table.mount(containing: "/var/log"))
        #expect(MountTable.pathInFileSystem("/var/log", mount: variable) == "/log")
        #expect(table.mount(containing: "/variable")?.mountPoint == "/")
        #expect(
            throws: InitramfsError.target(
                path: "/proc/self/mountinfo", message: "line 1: expected mountinfo fields, found \"21 1 8:1 / /\"")
        ) { try MountTable(parsing: "21 1 8:1 / /\n") }
    }

    @Test func missingMountTableKeepsTheCallPathAndErrno() throws {
        let scratch = try TemporaryDirectory("initramfs")
        let path = scratch.path("/proc/self/mountinfo")
        let error = try #require(throws: InitramfsError.self) { try MountTable.read(root: HostRoot(scratch.path)) }
        #expect(
            error
                == .file(
                    doing: "reading the mount table",
                    cause: SystemError("open", path: path, errno: .noSuchFileOrDirectory)))
        #expect(error.description == "reading the mount table: open \(path): No such file or directory (ENOENT)")
    }

    @Test func superblockMismatchIsExplained() throws {
        let scratch = try TemporaryDirectory("initramfs")
        try scratch.write("/disk", [UInt8](repeating: 0, count: 0x20000))
        #expect(
            throws: FileSystemIdentityError(
                path: scratch.path + "/disk", message: "mounted as ext4 but no ext superblock magic 0xEF53 at 0x438")
        ) { try FileSystemIdentity.read(device: scratch.path + "/disk", mountType: "ext4") }
        #expect(
            throws: FileSystemIdentityError(
                path: scratch.path + "/disk",
                message: "file system type vfat is not supported as a dump target (ext4, xfs, btrfs)")
        ) { try FileSystemIdentity.read(device: scratch.path + "/disk", mountType: "vfat") }
    }
}
