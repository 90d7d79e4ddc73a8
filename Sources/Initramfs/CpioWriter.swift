/// One member of a `newc` cpio archive.
public struct CpioEntry: Equatable, Sendable {
    /// What the member is.
    public enum Kind: Equatable, Sendable {
        case directory
        case file([UInt8])
        case symlink(target: String)
        case characterDevice(major: UInt32, minor: UInt32)
        case blockDevice(major: UInt32, minor: UInt32)
    }

    /// Path inside the archive, relative (no leading `/`), e.g. `lib/x86_64-linux-gnu/libc.so.6`.
    public var path: String
    /// The kind and content.
    public var kind: Kind
    /// Permission bits (0o7777).
    public var permissions: UInt32

    public init(path: String, kind: Kind, permissions: UInt32) {
        self.path = path
        self.kind = kind
        self.permissions = permissions
    }

    /// The `st_mode` written to the header: type bits plus permissions.
    var mode: UInt32 {
        let type: UInt32
        switch kind {
        case .directory: type = 0o040000
        case .file: type = 0o100000
        case .symlink: type = 0o120000
        case .characterDevice: type = 0o020000
        case .blockDevice: type = 0o060000
        }
        return type | (permissions & 0o7777)
    }
}

/// Builds a reproducible `newc` (SVR4, magic `070701`) cpio archive, the format the kernel unpacks as an
/// initramfs: entries sorted bytewise by path, parents added as directories, inode numbers assigned in that
/// order, one fixed mtime, owner root, each header+name and each body padded to 4 bytes, `TRAILER!!!` last.
public struct CpioWriter: Sendable {
    /// The modification time written for every member.
    public var mtime: UInt32
    private var entries: [String: CpioEntry] = [:]

    /// A writer stamping every member with `mtime` (seconds since the epoch; 0 by default).
    public init(mtime: UInt32 = 0) { self.mtime = mtime }

    /// Adds `entry`, creating its missing parent directories. Parent components that are symlinks already in
    /// the archive are followed, so `lib/modules` lands in `usr/lib/modules` when `lib` links to `usr/lib`.
    /// Adding a path twice keeps the last entry; throws when a parent is a file.
    public mutating func add(_ entry: CpioEntry) throws(CpioError) {
        var entry = entry
        entry.path = try resolveParents(Self.normalize(entry.path))
        var parent = Self.parent(entry.path)
        while !parent.isEmpty {
            switch entries[parent]?.kind {
            case nil: entries[parent] = CpioEntry(path: parent, kind: .directory, permissions: 0o755)
            case .directory?: break
            default: throw CpioError(path: entry.path, message: "parent \(parent) is not a directory")
            }
            parent = Self.parent(parent)
        }
        entries[entry.path] = entry
    }

    /// Adds a directory (mode 0755 by default).
    public mutating func addDirectory(_ path: String, permissions: UInt32 = 0o755) throws(CpioError) {
        try add(CpioEntry(path: path, kind: .directory, permissions: permissions))
    }

    /// Adds a regular file.
    public mutating func addFile(_ path: String, contents: [UInt8], permissions: UInt32 = 0o644) throws(CpioError) {
        try add(CpioEntry(path: path, kind: .file(contents), permissions: permissions))
    }

    /// Adds a symbolic link.
    public mutating func addSymlink(_ path: String, target: String) throws(CpioError) {
        try add(CpioEntry(path: path, kind: .symlink(target: target), permissions: 0o777))
    }

    /// The entries, sorted as they will be written.
    public var sortedEntries: [CpioEntry] {
        entries.values.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// Sum of the member sizes (file contents and link targets): what the archive takes once unpacked.
    public var unpackedSize: UInt64 {
        entries.values.reduce(0) { total, entry in
            switch entry.kind {
            case .file(let bytes): total + UInt64(bytes.count)
            case .symlink(let target): total + UInt64(target.utf8.count)
            default: total
            }
        }
    }

    /// The archive bytes.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var inode: UInt32 = 1
        for entry in sortedEntries {
            let body: [UInt8]
            var rdevMajor: UInt32 = 0
            var rdevMinor: UInt32 = 0
            switch entry.kind {
            case .directory: body = []
            case .file(let bytes): body = bytes
            case .symlink(let target): body = Array(target.utf8)
            case .characterDevice(let major, let minor), .blockDevice(let major, let minor):
                body = []
                rdevMajor = major
                rdevMinor = minor
            }
            let links: UInt32 = entry.kind == .directory ? 2 : 1
            Self.appendMember(
                to: &out, name: entry.path,
                fields: [inode, entry.mode, 0, 0, links, mtime, UInt32(body.count), 0, 0, rdevMajor, rdevMinor],
                body: body)
            inode += 1
        }
        Self.appendMember(to: &out, name: "TRAILER!!!", fields: [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], body: [])
        return out
    }

    /// Appends a header (magic, the 11 given fields, namesize, check 0), the NUL-terminated name, the body.
    private static func appendMember(to out: inout [UInt8], name: String, fields: [UInt32], body: [UInt8]) {
        out += Array("070701".utf8)
        for field in fields + [UInt32(name.utf8.count + 1), 0] { out += hex8(field) }
        out += Array(name.utf8)
        out.append(0)
        pad(&out)
        out += body
        pad(&out)
    }

    private static func hex8(_ value: UInt32) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return (0..<8).reversed().map { digits[Int((value >> (UInt32($0) * 4)) & 0xf)] }
    }

    private static func pad(_ out: inout [UInt8]) {
        while out.count % 4 != 0 { out.append(0) }
    }

    static func normalize(_ path: String) -> String {
        path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// Rewrites `path` so no proper prefix is a symlink in the archive.
    private func resolveParents(_ path: String) throws(CpioError) -> String {
        var components = path.split(separator: "/").map(String.init)
        var index = 0
        var hops = 0
        while index < components.count - 1 {
            let prefix = components[0...index].joined(separator: "/")
            if case .symlink(let target)? = entries[prefix]?.kind {
                hops += 1
                if hops > 40 { throw CpioError(path: path, message: "too many levels of symbolic links") }
                let base = target.hasPrefix("/") ? "" : Self.parent(prefix)
                var resolved: [String] = base.isEmpty ? [] : base.split(separator: "/").map(String.init)
                for part in target.split(separator: "/") {
                    if part == "." { continue }
                    if part == ".." {
                        if resolved.isEmpty {
                            throw CpioError(path: path, message: "symlink \(prefix) leaves the archive")
                        }
                        resolved.removeLast()
                    } else {
                        resolved.append(String(part))
                    }
                }
                components = resolved + components[(index + 1)...]
                index = 0
                continue
            }
            index += 1
        }
        return components.joined(separator: "/")
    }
}

/// A member that cannot be placed in the archive.
public struct CpioError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The archive path.
    public var path: String
    /// What is wrong.
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "initramfs member \(path): \(message)" }
}
