import SystemCalls

/// A file system's type and UUID read from its superblock, so the capture side can find it by UUID whatever
/// the device is called in the capture kernel. Reads ext2/3/4, XFS and Btrfs superblocks. Arming reads the
/// identity of the dump target; the capture side probes every block device for it.
public struct FileSystemIdentity: Equatable, Sendable {
    /// `ext4`, `xfs`, `btrfs` (ext2/ext3 report their mount type).
    public var type: String
    /// The UUID as blkid prints it (lower-case, 8-4-4-4-12).
    public var uuid: String

    public init(type: String, uuid: String) {
        self.type = type
        self.uuid = uuid
    }

    /// Reads the superblock of the device file at `path` (a host path); `mountType` is the type from the
    /// mount table and is checked against the superblock.
    public static func read(
        device path: String, mountType: String
    ) throws(FileSystemIdentityError) -> FileSystemIdentity {
        let bytes: [UInt8]
        do {
            let fd = try FileDescriptor.open(path)
            defer { try? fd.close() }
            bytes = try fd.readBytes(count: 0x10100, atOffset: 0)
        } catch { throw .target(path: path, message: "cannot read the superblock: \(error)") }
        func has(_ magic: [UInt8], at offset: Int) -> Bool {
            bytes.count >= offset + magic.count && Array(bytes[offset..<(offset + magic.count)]) == magic
        }
        let identity: FileSystemIdentity
        switch mountType {
        case "ext2", "ext3", "ext4":
            guard has([0x53, 0xef], at: 0x438) else {
                throw .target(
                    path: path, message: "mounted as \(mountType) but no ext superblock magic 0xEF53 at 0x438")
            }
            identity = FileSystemIdentity(type: mountType, uuid: formatUUID(bytes[0x468..<0x478]))
        case "xfs":
            guard has(Array("XFSB".utf8), at: 0) else {
                throw .target(path: path, message: "mounted as xfs but no XFSB magic at offset 0")
            }
            identity = FileSystemIdentity(type: "xfs", uuid: formatUUID(bytes[32..<48]))
        case "btrfs":
            guard has(Array("_BHRfS_M".utf8), at: 0x10040) else {
                throw .target(path: path, message: "mounted as btrfs but no _BHRfS_M magic at 0x10040")
            }
            identity = FileSystemIdentity(type: "btrfs", uuid: formatUUID(bytes[0x10020..<0x10030]))
        default:
            throw .target(
                path: path,
                message: "file system type \(mountType) is not supported as a dump target (ext4, xfs, btrfs)")
        }
        return identity
    }

    /// The identity of whatever ext2/3/4, XFS or Btrfs file system is on the device at `path`, nil when
    /// none of them is (or the device cannot be read: capture-time probing skips such devices).
    public static func probe(device path: String) -> FileSystemIdentity? {
        for type in ["ext4", "xfs", "btrfs"] {
            if let identity = try? read(device: path, mountType: type) { return identity }
        }
        return nil
    }

    static func formatUUID(_ bytes: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text += [digits[Int(byte >> 4)], digits[Int(byte & 0xf)]]
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Why a device's file system could not be identified.
public struct FileSystemIdentityError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The device file.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }

    static func target(path: String, message: String) -> FileSystemIdentityError {
        FileSystemIdentityError(path: path, message: message)
    }
}
