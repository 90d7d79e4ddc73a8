import Initramfs
import SystemCalls
import TestSupport
import Testing

@Suite(.serialized) struct ModuleClosureTests {
    @Test func virtioBlockAndExt4OnDebian61InLoadOrder() throws {
        let tree = try debianModuleTree()
        let index = try KernelModuleIndex(root: HostRoot(tree.root), release: tree.release)
        let closure = try ModuleClosure(
            required: ["fs-ext4"],
            optional: [
                "virtio_blk", "virtio_pci", "virtio:d00000002v00001AF4",
                "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00",
                "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01",  // AHCI controller: a module too
                "acpi:PNP0A03:",  // a PCI host bridge: no module, ignored
            ],
            index: index)
        let base = tree.root + "/lib/modules/" + tree.release + "/kernel/"
        #expect(
            closure.modules.map(\.name) == [
                // ext4's softdep (pre: crypto-crc32c, both providers), then its dependencies (libkmod's order).
                "crc32c_intel", "crc32c_generic", "jbd2", "mbcache", "crc16", "ext4",
                "virtio_ring", "virtio", "virtio_blk",
                "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
                "scsi_common", "scsi_mod", "libata", "libahci", "ahci",
            ])
        #expect(closure.modules.first(where: { $0.name == "ext4" })?.path == base + "fs/ext4/ext4.ko")
    }

    /// A tree laid out as 7.x's linux-modules package installs it, with no `/lib` link to `/usr/lib`.
    @Test func aTreeUnderUsrLibModulesIsFound() throws {
        let tree = try debianModuleTree()
        let directory = try TemporaryDirectory("usr-lib-modules")
        let root = directory.path
        try directory.link("/usr/lib/modules/" + tree.release, to: tree.root + "/lib/modules/" + tree.release)
        let index = try KernelModuleIndex(root: HostRoot(root), release: tree.release)
        #expect(index.directory == root + "/usr/lib/modules/" + tree.release)
        let closure = try ModuleClosure(required: ["fs-ext4"], optional: [], index: index)
        #expect(closure.modules.last?.name == "ext4")
    }

    @Test func builtInModulesAreLeftOut() throws {
        let tree = try debianModuleTree()
        let index = try KernelModuleIndex(root: HostRoot(tree.root), release: tree.release)
        // In Debian 6.1 unix sockets and the PCI core are built in.
        let closure = try ModuleClosure(required: ["unix"], optional: [], index: index)
        #expect(closure.modules.isEmpty)
        #expect(closure.builtIn == ["unix"])
    }

    @Test func unknownRequiredModuleIsAnError() throws {
        let tree = try debianModuleTree()
        let index = try KernelModuleIndex(root: HostRoot(tree.root), release: tree.release)
        let error = #expect(throws: InitramfsError.self) {
            try ModuleClosure(required: ["no_such_driver"], optional: [], index: index)
        }
        #expect(
            error?.description == "kernel module no_such_driver: no module or alias of that name in "
                + "\(tree.root)/lib/modules/\(tree.release)")
    }

    @Test func treeWithoutDepmodSaysWhatToRun() throws {
        let scratch = try TemporaryDirectory("initramfs")
        try FileSystem.makeDirectory(scratch.root.path("/lib/modules/9.9"), parents: true)
        let error = #expect(throws: InitramfsError.self) { try KernelModuleIndex(root: scratch.root, release: "9.9") }
        #expect(
            error?.description == "kernel module 9.9: \(scratch.path)/lib/modules/9.9/modules.dep.bin is missing: "
                + "run depmod -b \(scratch.path) 9.9 (kmod)")
    }
}
