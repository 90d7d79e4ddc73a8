import FoundationEssentials
import SystemCalls

/// What the service last did, persisted at `/run/oopsd/status.json` for `oopsctl status`.
///
/// The daemon and `oopsctl arm`/`disarm` write it; `oopsctl status` reads it and adds live
/// readings (reservation, free space) of its own.
public struct ServiceStatus: Codable, Equatable, Sendable {
    /// The built capture initramfs.
    public struct Image: Codable, Equatable, Sendable {
        public var path: String
        public var bytes: UInt64
        public var unpackedBytes: UInt64
        public var sha256: String
        /// When it was built (ISO 8601, UTC).
        public var builtAt: String
        /// True when the cached image was reused without building.
        public var reused: Bool

        public init(path: String, bytes: UInt64, unpackedBytes: UInt64, sha256: String, builtAt: String, reused: Bool) {
            self.path = path
            self.bytes = bytes
            self.unpackedBytes = unpackedBytes
            self.sha256 = sha256
            self.builtAt = builtAt
            self.reused = reused
        }
    }

    public var armed: Bool
    /// One sentence a human understands: why armed or not.
    public var message: String
    public var kernelImage: String?
    public var kernelRelease: String?
    public var commandLine: String?
    public var image: Image?
    public var modules: [String]
    public var dumpDirectory: String?
    /// Why the armed capture has no local target (`[Capture] Target=` on a machine without a dump disk): the dump goes
    /// to the network only. Nil when it has one.
    public var localTargetMissing: String?
    /// When the capture kernel was last loaded (ISO 8601, UTC).
    public var lastArmTime: String?
    public var lastError: String?
    /// Problems in the configuration files; non-empty means the armed configuration is an older, good one.
    public var configErrors: [String]
    public var pid: Int32?
    /// Why the service is arming right now ("start", "a watched file changed"); nil when it is not. Written before an
    /// arming begins, so that a capture kernel the kernel unloads while the new one loads reads as a re-arm.
    public var arming: String?
    /// How many times the service has written this file since it started: two reads with the same sequence saw the
    /// same state, also when a re-arm in between wrote the same values again.
    public var sequence: UInt64?

    public init(
        armed: Bool, message: String, kernelImage: String? = nil, kernelRelease: String? = nil,
        commandLine: String? = nil, image: Image? = nil, modules: [String] = [], dumpDirectory: String? = nil,
        lastArmTime: String? = nil, lastError: String? = nil, configErrors: [String] = [], pid: Int32? = nil,
        arming: String? = nil, sequence: UInt64? = nil, localTargetMissing: String? = nil
    ) {
        self.armed = armed
        self.message = message
        self.kernelImage = kernelImage
        self.kernelRelease = kernelRelease
        self.commandLine = commandLine
        self.image = image
        self.modules = modules
        self.dumpDirectory = dumpDirectory
        self.lastArmTime = lastArmTime
        self.lastError = lastError
        self.configErrors = configErrors
        self.pid = pid
        self.arming = arming
        self.sequence = sequence
        self.localTargetMissing = localTargetMissing
    }

    /// Where the status lives.
    public static let path = "/run/oopsd/status.json"

    /// Reads the status under `root`; nil when none was written (the service never ran this boot).
    public static func read(root: HostRoot) throws -> ServiceStatus? {
        let file = root.path(path)
        guard FileSystem.exists(file) else { return nil }
        return try JSONDecoder().decode(ServiceStatus.self, from: Data(FileSystem.readBytes(file)))
    }

    /// Writes the status under `root` atomically.
    public func write(root: HostRoot) throws {
        let file = root.path(Self.path)
        try FileSystem.makeDirectory(Path.parent(file), mode: 0o755, parents: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileSystem.writeAtomically(file, Array(try encoder.encode(self)) + [0x0A])
    }

    /// A time in seconds since the epoch as ISO 8601 UTC.
    public static func iso8601(epochSeconds: Int64) -> String {
        UTCTime.iso8601(epochSeconds)
    }

    /// The current time as ISO 8601 UTC, the form the status uses.
    public static func now() -> String {
        UTCTime.nowISO8601()
    }
}
