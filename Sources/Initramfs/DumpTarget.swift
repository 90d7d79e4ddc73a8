import KernelInterfaces
import SystemCalls

/// Where dumps go, as the capture kernel must find it: the file system (type, UUID, device number), the dump
/// directory inside it, and the modules needed to reach the device.
public struct DumpTarget: Equatable, Sendable {
    /// The dump directory as the running system sees it.
    public var directory: String
    /// The dump directory as a path inside the target file system.
    public var directoryInFileSystem: String
    /// The mount holding the directory.
    public var mount: MountEntry
    /// The file system's type and UUID.
    public var identity: FileSystemIdentity
    /// The sysfs walk from the device upwards.
    public var walk: BlockDeviceWalk

    /// Works out the target of `directory` (absolute) under `root`: mount table, superblock at
    /// `/dev/block/MAJ:MIN`, sysfs walk.
    public init(directory: String, root: HostRoot) throws(InitramfsError) {
        guard let resolved = try HostPathResolver(root: root).resolve(directory) else {
            throw .target(path: directory, message: "does not exist (create it or set [Capture] Directory=)")
        }
        let table = try MountTable.read(root: root)
        guard let mount = table.mount(containing: resolved.realPath) else {
            throw .target(path: directory, message: "no mount in \(root.path("/proc/self/mountinfo")) holds it")
        }
        guard mount.major != 0 else {
            throw .target(
                path: directory,
                message:
                    "is on \(mount.fileSystemType) (\(mount.source)), not a block device the capture kernel can mount")
        }
        self.directory = directory
        self.mount = mount
        directoryInFileSystem = MountTable.pathInFileSystem(resolved.realPath, mount: mount)
        do {
            identity = try FileSystemIdentity.read(
                device: Self.deviceNode(major: mount.major, minor: mount.minor, root: root),
                mountType: mount.fileSystemType)
        } catch {
            throw .target(path: error.path, message: error.message)
        }
        walk = try BlockDeviceWalk(major: mount.major, minor: mount.minor, root: root)
    }

    /// The device node of MAJ:MIN: udev's `/dev/block/MAJ:MIN` link, or, on systems without udev,
    /// `/dev/<DEVNAME>` from the device's sysfs `uevent`.
    static func deviceNode(major: UInt32, minor: UInt32, root: HostRoot) -> String {
        let link = root.path("/dev/block/\(major):\(minor)")
        if FileSystem.exists(link) { return link }
        let uevent = (try? FileSystem.readText(root.path("/sys/dev/block/\(major):\(minor)/uevent"))) ?? ""
        for line in uevent.split(separator: "\n") where line.hasPrefix("DEVNAME=") {
            return root.path("/dev/" + line.dropFirst("DEVNAME=".count))
        }
        return link
    }

    /// The module names and aliases that must resolve: the file system's (`fs-<type>` alias, as modprobe uses).
    public var requiredModules: [String] { ["fs-\(identity.type)"] }
    /// Device modaliases and driver modules; a device with no module (built in, or a bridge) matches nothing.
    public var deviceModules: [String] { walk.driverModules + walk.modaliases }
}
