import SystemCalls

/// Walks sysfs from a block device (`/sys/dev/block/MAJ:MIN`) up through its parents — partition, disk,
/// controller, bus — and through `slaves/` of stacked devices (dm, md), collecting what each ancestor needs
/// loaded: its `modalias` and the module behind its `driver` link. A network interface's device is walked the
/// same way (`init(sysfsDevice:root:)`).
public struct BlockDeviceWalk: Equatable, Sendable {
    /// The device directories visited, as host paths inside the root's `/sys`.
    public var devices: [String]
    /// `modalias` values, in walk order, without repeats.
    public var modaliases: [String]
    /// Driver module names (`driver/module` link targets), in walk order, without repeats.
    public var driverModules: [String]

    /// Walks from device `major:minor` under `root`.
    public init(major: UInt32, minor: UInt32, root: HostRoot) throws(InitramfsError) {
        devices = []
        modaliases = []
        driverModules = []
        try walk(root.path("/sys/dev/block/\(major):\(minor)"), root: root, depth: 0)
    }

    /// Walks from any sysfs device directory (a host path), e.g. a network interface's
    /// `/sys/class/net/<name>/device`.
    public init(sysfsDevice path: String, root: HostRoot) throws(InitramfsError) {
        devices = []
        modaliases = []
        driverModules = []
        try walk(path, root: root, depth: 0)
    }

    private mutating func walk(_ start: String, root: HostRoot, depth: Int) throws(InitramfsError) {
        guard depth < 16 else { throw .target(path: start, message: "block device stack deeper than 16 levels") }
        guard let real = FileSystem.realPath(start) else {
            throw .target(path: start, message: "no such block device in sysfs")
        }
        let stop = [root.path("/sys/devices"), root.path("/sys"), root.path("/")]
        // Stacked devices first: their members need their own drivers.
        let slaves = Path.join(real, "slaves")
        if let names = try? FileSystem.listDirectory(slaves) {
            for name in names { try walk(root.path("/sys/class/block/\(name)"), root: root, depth: depth + 1) }
        }
        var directory = real
        while !stop.contains(directory) && directory.count > 1 {
            if !devices.contains(directory) {
                devices.append(directory)
                if let text = try? FileSystem.readText(Path.join(directory, "modalias")) {
                    let alias = Self.trim(text)
                    if !alias.isEmpty && !modaliases.contains(alias) { modaliases.append(alias) }
                }
                if let target = try? FileSystem.readLink(Path.join(directory, "driver/module")) {
                    let module = Path.lastComponent(target)
                    if !driverModules.contains(module) { driverModules.append(module) }
                }
            }
            directory = Path.parent(directory)
        }
    }

    static func trim(_ text: String) -> String {
        String(
            text.drop(while: { $0 == " " || $0 == "\n" }).reversed().drop(while: { $0 == " " || $0 == "\n" }).reversed()
        )
    }
}
