import SystemCalls
import TestSupport

/// A fake machine: the dump directory /var/crash on an ext4 file system on virtio-blk partition vda1 (254:1)
/// behind a virtio PCI device, with the real Debian 6.1 module tree and a dynamically linked "capture binary".
final class VirtioFixture {
    static let uuid = "5e4f8c1a-2b3d-4e6f-8a9b-0c1d2e3f4a5b"
    let directory: TemporaryDirectory
    let release: String
    var root: HostRoot { directory.root }
    var path: String { directory.path }

    init() throws {
        let tree = try debianModuleTree()
        release = tree.release
        directory = try TemporaryDirectory("initramfs")
        let d = directory
        // Merged /usr, as on Debian 12.
        try d.link("/lib", to: "usr/lib")
        try d.link("/lib64", to: "usr/lib64")
        try d.link("/usr/lib64/ld-linux-x86-64.so.2", to: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        let multiarch = "/usr/lib/x86_64-linux-gnu"
        for name in ["libc.so.6", "ld-linux-x86-64.so.2"] {
            try d.write(multiarch + "/" + name, try FileSystem.readBytes(multiarch + "/" + name), mode: 0o755)
        }
        try d.write("/usr/libexec/oopsd/oopsd-capture", try FileSystem.readBytes("/usr/bin/cpio"), mode: 0o755)
        try d.link("/usr/lib/modules/\(release)", to: tree.root + "/lib/modules/\(release)")
        try d.link("/boot/config-\(release)", to: tree.root + "/boot/config-\(release)")
        try FileSystem.makeDirectory(d.root.path("/var/crash"), parents: true)
        try d.write(
            "/proc/self/mountinfo",
            """
            21 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
            22 21 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
            23 21 0:25 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=100000k,mode=755

            """)
        try FileSystem.makeDirectory(d.root.path("/dev/block"), parents: true)
        let mkfs = shell("mkfs.ext4 -q -F -U \(Self.uuid) \(d.root.path("/dev/block/254:1")) 4M 2>&1")
        guard mkfs.status == 0 else { throw SystemError("mkfs.ext4: \(mkfs.output)", errno: 0) }

        let pci = try addVirtioDevice(
            slot: "0000:00:04.0", device: "virtio1",
            pciModalias: "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00",
            modalias: "virtio:d00000002v00001AF4", driver: "virtio_blk")
        try d.link("/sys/bus/pci/drivers/virtio-pci/module", to: "../../../../module/virtio_pci")
        try d.write(pci + "/virtio1/block/vda/vda1/partition", "1\n")
        try d.write(pci + "/virtio1/block/vda/vda1/dev", "254:1\n")
        try d.link("/sys/dev/block/254:1", to: "../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1")
    }

    /// A virtio device `device` behind PCI slot `slot`, bound to `driver` (a module); returns the PCI directory.
    @discardableResult
    func addVirtioDevice(
        slot: String, device: String, pciModalias: String, modalias: String, driver: String
    ) throws -> String {
        let pci = "/sys/devices/pci0000:00/" + slot
        try directory.write(pci + "/modalias", pciModalias + "\n")
        try directory.link(pci + "/driver", to: "../../../bus/pci/drivers/virtio-pci")
        try directory.write(pci + "/\(device)/modalias", modalias + "\n")
        try directory.link(pci + "/\(device)/driver", to: "../../../../bus/virtio/drivers/\(driver)")
        try directory.link("/sys/bus/virtio/drivers/\(driver)/module", to: "../../../../module/\(driver)")
        return pci
    }
}
