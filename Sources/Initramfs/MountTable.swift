import SystemCalls

/// One line of `/proc/self/mountinfo`.
public struct MountEntry: Equatable, Sendable {
    /// The device number of the file system (`major:minor`).
    public var major: UInt32
    public var minor: UInt32
    /// The directory of the file system mounted here (`/` unless a bind mount or subvolume).
    public var root: String
    /// Where it is mounted.
    public var mountPoint: String
    /// The file system type, e.g. `ext4`.
    public var fileSystemType: String
    /// The mount source, e.g. `/dev/vda1`.
    public var source: String
}

/// The mount table from `/proc/self/mountinfo` (proc(5)), with octal escapes (`\040`) decoded.
public struct MountTable: Equatable, Sendable {
    /// The mounts in file order (later mounts hide earlier ones at the same point).
    public var entries: [MountEntry]

    /// Parses the text; `path` names the file in errors.
    public init(parsing text: String, path: String = "/proc/self/mountinfo") throws(InitramfsError) {
        var entries: [MountEntry] = []
        var lineNumber = 0
        for line in text.split(separator: "\n") {
            lineNumber += 1
            let fields = line.split(separator: " ").map(String.init)
            guard let separator = fields.firstIndex(of: "-"), separator >= 6, fields.count >= separator + 3 else {
                throw .target(path: path, message: "line \(lineNumber): expected mountinfo fields, found \"\(line)\"")
            }
            let numbers = fields[2].split(separator: ":")
            guard numbers.count == 2, let major = UInt32(numbers[0]), let minor = UInt32(numbers[1]) else {
                throw .target(path: path, message: "line \(lineNumber): expected major:minor, found \"\(fields[2])\"")
            }
            entries.append(
                MountEntry(
                    major: major, minor: minor, root: Self.unescape(fields[3]), mountPoint: Self.unescape(fields[4]),
                    fileSystemType: fields[separator + 1], source: Self.unescape(fields[separator + 2])))
        }
        self.entries = entries
    }

    /// Reads `/proc/self/mountinfo` under `root`.
    public static func read(root: HostRoot) throws(InitramfsError) -> MountTable {
        let path = root.path("/proc/self/mountinfo")
        do { return try MountTable(parsing: try FileSystem.readText(path), path: path) } catch let error
            as InitramfsError
        {
            throw error
        } catch { throw .file(doing: "reading the mount table", cause: SystemError(caught: error)) }
    }

    /// The mount holding `directory` (absolute, symlinks already resolved): the longest mount point that is a
    /// prefix of it, the last such mount when several share the point.
    public func mount(containing directory: String) -> MountEntry? {
        var best: MountEntry?
        for entry in entries {
            let point = entry.mountPoint
            let inside = point == "/" || directory == point || directory.hasPrefix(point + "/")
            if inside && point.count >= (best?.mountPoint.count ?? 0) { best = entry }
        }
        return best
    }

    /// `directory` as a path inside the mounted file system (`/var/crash` on a `/var` mount is `/crash`).
    public static func pathInFileSystem(_ directory: String, mount: MountEntry) -> String {
        let relative = mount.mountPoint == "/" ? directory : String(directory.dropFirst(mount.mountPoint.count))
        let joined = Path.join(mount.root, relative)
        return joined.isEmpty ? "/" : joined
    }

    static func unescape(_ text: String) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
                let value = UInt8(String(decoding: utf8[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
