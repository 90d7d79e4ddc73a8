/// The frozen capture configuration written into the capture initramfs as `/etc/oopsd/capture-plan`, and
/// read by `oopsd-capture`: what to save, where and how. Writer and parser live here, in one place.
///
/// The format is plain text, one `key=value` per line, in a fixed order; everything after the first `=` is
/// the value, verbatim. `module=` repeats, once per module, in load order. Values never hold a newline.
/// Nothing in the plan changes from one boot to the next.
public struct CapturePlan: Equatable, Sendable {
    /// The plan format version this code writes and reads.
    public static let version = 1
    /// Where the plan sits inside the capture initramfs.
    public static let pathInInitramfs = "/etc/oopsd/capture-plan"

    /// The release of the kernel the initramfs is for (its modules are under `/lib/modules/<release>`).
    public var kernelRelease: String
    /// The dump target file system's UUID, as blkid prints it.
    public var targetUUID: String
    /// The dump target file system's type, e.g. `ext4` or `xfs`.
    public var targetType: String
    /// The dump directory as a path inside the target file system (its root is `/`).
    public var targetDirectory: String
    /// The dump directory as the running system sees it (`[Capture] Directory=`), for messages and metadata.
    public var directory: String
    /// makedumpfile-style dump level, 0...31.
    public var dumpLevel: Int
    /// `elf` or `kdump`.
    public var format: String
    /// Page compression of the kdump format: `zstd`, `lz4`, `zlib` or `none`.
    public var compression: String
    /// Seconds after which a running capture is abandoned.
    public var timeoutSeconds: Int
    /// What to do after a successful capture.
    public var finalAction: RebootAction
    /// What to do after a failed or timed-out capture.
    public var failureAction: RebootAction
    /// Module files inside the initramfs (`/lib/modules/<release>/...`), in the order to load them.
    public var modules: [String]

    public init(
        kernelRelease: String, targetUUID: String, targetType: String, targetDirectory: String, directory: String,
        dumpLevel: Int, format: String, compression: String, timeoutSeconds: Int, finalAction: RebootAction,
        failureAction: RebootAction, modules: [String]
    ) {
        self.kernelRelease = kernelRelease
        self.targetUUID = targetUUID
        self.targetType = targetType
        self.targetDirectory = targetDirectory
        self.directory = directory
        self.dumpLevel = dumpLevel
        self.format = format
        self.compression = compression
        self.timeoutSeconds = timeoutSeconds
        self.finalAction = finalAction
        self.failureAction = failureAction
        self.modules = modules
    }

    /// The plan as text; throws when a value holds a newline (it could not be read back).
    public func text() throws(CapturePlanError) -> String {
        var lines: [(String, String)] = [
            ("version", "\(Self.version)"),
            ("kernel_release", kernelRelease),
            ("target_uuid", targetUUID),
            ("target_type", targetType),
            ("target_directory", targetDirectory),
            ("directory", directory),
            ("dump_level", "\(dumpLevel)"),
            ("format", format),
            ("compression", compression),
            ("timeout_seconds", "\(timeoutSeconds)"),
            ("final_action", finalAction.rawValue),
            ("failure_action", failureAction.rawValue),
        ]
        lines += modules.map { ("module", $0) }
        var text = ""
        for (key, value) in lines {
            if value.contains("\n") || value.contains("\r") {
                throw CapturePlanError(line: 0, message: "the value of \(key) contains a line break")
            }
            text += key + "=" + value + "\n"
        }
        return text
    }

    /// Parses the text of a plan. Every key except `module` must appear exactly once; unknown keys, a
    /// missing key, a wrong version or a malformed number are errors naming the line.
    public init(parsing text: String) throws(CapturePlanError) {
        var values: [String: (value: String, line: Int)] = [:]
        var modules: [String] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw CapturePlanError(line: lineNumber, message: "expected key=value, found \"\(line)\"")
            }
            let key = String(line[..<equals])
            let value = String(line[line.index(after: equals)...])
            if key == "module" {
                modules.append(value)
                continue
            }
            guard Self.keys.contains(key) else {
                throw CapturePlanError(line: lineNumber, message: "unknown key \"\(key)\"")
            }
            if let earlier = values[key] {
                throw CapturePlanError(line: lineNumber, message: "\(key) repeats (first on line \(earlier.line))")
            }
            values[key] = (value, lineNumber)
        }
        func string(_ key: String) throws(CapturePlanError) -> String {
            guard let entry = values[key] else { throw CapturePlanError(line: 0, message: "missing key \(key)") }
            return entry.value
        }
        func integer(_ key: String) throws(CapturePlanError) -> Int {
            let text = try string(key)
            guard let value = Int(text) else {
                throw CapturePlanError(line: values[key]!.line, message: "\(key): expected an integer, found \"\(text)\"")
            }
            return value
        }
        func action(_ key: String) throws(CapturePlanError) -> RebootAction {
            let text = try string(key)
            guard let value = RebootAction(rawValue: text) else {
                throw CapturePlanError(
                    line: values[key]!.line, message: "\(key): expected reboot, poweroff or halt, found \"\(text)\"")
            }
            return value
        }
        let version = try integer("version")
        guard version == Self.version else {
            throw CapturePlanError(
                line: values["version"]!.line, message: "plan version \(version), this oopsd-capture reads \(Self.version)")
        }
        self.init(
            kernelRelease: try string("kernel_release"), targetUUID: try string("target_uuid"),
            targetType: try string("target_type"), targetDirectory: try string("target_directory"),
            directory: try string("directory"), dumpLevel: try integer("dump_level"), format: try string("format"),
            compression: try string("compression"), timeoutSeconds: try integer("timeout_seconds"),
            finalAction: try action("final_action"), failureAction: try action("failure_action"), modules: modules)
    }

    static let keys: Set<String> = [
        "version", "kernel_release", "target_uuid", "target_type", "target_directory", "directory", "dump_level",
        "format", "compression", "timeout_seconds", "final_action", "failure_action",
    ]
}

/// A capture plan that cannot be written or read: the line (0 when not tied to one) and what is wrong.
public struct CapturePlanError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The 1-based line number, or 0.
    public var line: Int
    /// What is wrong.
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(CapturePlan.pathInInitramfs) line \(line): \(message)" : "\(CapturePlan.pathInInitramfs): \(message)"
    }
}
