/// The frozen capture configuration written into the capture initramfs as `/etc/oopsd/capture-plan`, and
/// read by `oopsd-capture`: what to save, where and how. Writer and parser live here, in one place.
///
/// Every value is typed: a plan that does not parse is an error naming the line, the key, the value found and
/// what was expected; the capture kernel never falls back silently.
///
/// The format is plain text, one `key=value` per line, in a fixed order; everything after the first `=` is
/// the value, verbatim. `module=` repeats, once per module, in load order. Values never hold a newline.
/// Nothing in the plan changes from one boot to the next.
public struct CapturePlan: Equatable, Sendable {
    /// The plan format version this code writes and reads.
    public static let version = 1
    /// Where the plan sits inside the capture initramfs.
    public static let pathInInitramfs = "/etc/oopsd/capture-plan"

    /// The keys of the plan, in the order they are written: each spelled here only.
    public enum Key: String, CaseIterable, Sendable {
        case version
        case kernelRelease = "kernel_release"
        case targetUUID = "target_uuid"
        case targetType = "target_type"
        case targetDirectory = "target_directory"
        case directory
        case dumpLevel = "dump_level"
        case format
        case compression
        case timeoutSeconds = "timeout_seconds"
        case finalAction = "final_action"
        case failureAction = "failure_action"
        case returnUnavailable = "return_unavailable"
        case returnKernel = "return_kernel"
        case returnKernelSHA256 = "return_kernel_sha256"
        case returnInitramfs = "return_initramfs"
        case returnInitramfsSHA256 = "return_initramfs_sha256"
        case returnUUID = "return_uuid"
        case returnCommandLine = "return_command_line"
        case module
    }

    /// The release of the kernel the initramfs is for (its modules are under `/lib/modules/<release>`).
    public var kernelRelease: String
    /// The dump target file system's UUID, as blkid prints it; empty when there is no local target.
    public var targetUUID: String
    /// The dump target file system's type, e.g. `ext4` or `xfs`.
    public var targetType: String
    /// The dump directory as a path inside the target file system (its root is `/`).
    public var targetDirectory: String
    /// The dump directory as the running system sees it (`[Capture] Directory=`), for messages and metadata.
    public var directory: String
    /// How the dump is saved and what follows it.
    public var settings: CaptureSettings
    /// Module files inside the initramfs (`/lib/modules/<release>/...`), in the order to load them.
    public var modules: [String]
    /// How to return to production with kexec; nil when neither action is `kexec`.
    public var returnKernel: ReturnKernelPlan?

    public init(
        kernelRelease: String, targetUUID: String, targetType: String, targetDirectory: String, directory: String,
        settings: CaptureSettings, modules: [String], returnKernel: ReturnKernelPlan? = nil
    ) {
        self.returnKernel = returnKernel
        self.kernelRelease = kernelRelease
        self.targetUUID = targetUUID
        self.targetType = targetType
        self.targetDirectory = targetDirectory
        self.directory = directory
        self.settings = settings
        self.modules = modules
    }

    /// False for a network capture on a machine with no local dump target (arming found no block device under
    /// `directory`): UUID, type and directory are empty, and a failed upload takes the failure action.
    public var hasLocalTarget: Bool { !targetUUID.isEmpty }

    /// The plan as text; throws when a value holds a newline (it could not be read back).
    public func text() throws(CapturePlanError) -> String {
        var lines: [(Key, String)] = [
            (.version, "\(Self.version)"),
            (.kernelRelease, kernelRelease),
            (.targetUUID, targetUUID),
            (.targetType, targetType),
            (.targetDirectory, targetDirectory),
            (.directory, directory),
            (.dumpLevel, "\(settings.dumpLevel.requested)"),
            (.format, settings.format.rawValue),
            (.compression, settings.compression.rawValue),
            (.timeoutSeconds, "\(settings.timeoutSeconds)"),
            (.finalAction, settings.finalAction.rawValue),
            (.failureAction, settings.failureAction.rawValue),
        ]
        switch returnKernel {
        case nil: break
        case .unavailable(let reason): lines.append((.returnUnavailable, reason))
        case .available(let files):
            lines += [
                (.returnKernel, files.kernel), (.returnKernelSHA256, files.kernelSHA256),
                (.returnInitramfs, files.initramfs), (.returnInitramfsSHA256, files.initramfsSHA256),
                (.returnUUID, files.fileSystemUUID), (.returnCommandLine, files.commandLine),
            ]
        }
        lines += modules.map { (.module, $0) }
        var text = ""
        for (key, value) in lines {
            if value.contains("\n") || value.contains("\r") {
                throw CapturePlanError(line: 0, message: "the value of \(key.rawValue) contains a line break")
            }
            text += key.rawValue + "=" + value + "\n"
        }
        return text
    }

    /// Parses the text of a plan. Every key except `module` and the `return_*` keys must appear exactly once (the
    /// `return_*` keys: none, `return_unavailable` alone, or all the others); unknown keys, a
    /// missing key, a wrong version or a malformed number are errors naming the line.
    public init(parsing text: String) throws(CapturePlanError) {
        var values: [Key: (value: String, line: Int)] = [:]
        var modules: [String] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw CapturePlanError(line: lineNumber, message: "expected key=value, found \"\(line)\"")
            }
            let name = String(line[..<equals])
            let value = String(line[line.index(after: equals)...])
            guard let key = Key(rawValue: name) else {
                throw CapturePlanError(line: lineNumber, message: "unknown key \"\(name)\"")
            }
            if key == .module {
                modules.append(value)
                continue
            }
            if let earlier = values[key] {
                throw CapturePlanError(line: lineNumber, message: "\(name) repeats (first on line \(earlier.line))")
            }
            values[key] = (value, lineNumber)
        }
        func string(_ key: Key) throws(CapturePlanError) -> String {
            guard let entry = values[key] else {
                throw CapturePlanError(line: 0, message: "missing key \(key.rawValue)")
            }
            return entry.value
        }
        func integer(_ key: Key) throws(CapturePlanError) -> Int {
            let text = try string(key)
            guard let value = Int(text) else {
                throw CapturePlanError(
                    line: values[key]!.line, message: "\(key.rawValue): expected an integer, found \"\(text)\"")
            }
            return value
        }
        func choice<Value: RawRepresentable & CaseIterable>(
            _ key: Key, _ type: Value.Type
        )
            throws(CapturePlanError) -> Value where Value.RawValue == String
        {
            let text = try string(key)
            guard let value = Value(rawValue: text) else {
                let expected = Value.allCases.map(\.rawValue)
                throw CapturePlanError(
                    line: values[key]!.line,
                    message: "\(key.rawValue): expected \(expected.dropLast().joined(separator: ", ")) or "
                        + "\(expected.last!), found \"\(text)\"")
            }
            return value
        }
        func level(_ key: Key) throws(CapturePlanError) -> DumpLevel {
            let number = try integer(key)
            guard let value = DumpLevel(number) else {
                throw CapturePlanError(
                    line: values[key]!.line, message: "\(key.rawValue): expected 0 to 31, found \"\(number)\"")
            }
            return value
        }
        let version = try integer(.version)
        guard version == Self.version else {
            throw CapturePlanError(
                line: values[.version]!.line,
                message: "plan version \(version), this oopsd-capture reads \(Self.version)")
        }
        var returnKernel: ReturnKernelPlan?
        if let reason = values[.returnUnavailable] {
            returnKernel = .unavailable(reason: reason.value)
        } else if values[.returnKernel] != nil {
            func digest(_ key: Key) throws(CapturePlanError) -> String {
                let text = try string(key)
                guard text.utf8.count == 64, text.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
                else {
                    throw CapturePlanError(
                        line: values[key]!.line,
                        message: "\(key.rawValue): expected 64 lower-case hexadecimal digits, found \"\(text)\"")
                }
                return text
            }
            returnKernel = .available(
                ReturnKernelFiles(
                    kernel: try string(.returnKernel), kernelSHA256: try digest(.returnKernelSHA256),
                    initramfs: try string(.returnInitramfs), initramfsSHA256: try digest(.returnInitramfsSHA256),
                    fileSystemUUID: try string(.returnUUID), commandLine: try string(.returnCommandLine)))
        }
        self.init(
            kernelRelease: try string(.kernelRelease), targetUUID: try string(.targetUUID),
            targetType: try string(.targetType), targetDirectory: try string(.targetDirectory),
            directory: try string(.directory),
            settings: CaptureSettings(
                dumpLevel: try level(.dumpLevel), format: try choice(.format, MemoryFormat.self),
                compression: try choice(.compression, PageCompression.self),
                timeoutSeconds: try integer(.timeoutSeconds), finalAction: try choice(.finalAction, FinalAction.self),
                failureAction: try choice(.failureAction, FinalAction.self)),
            modules: modules, returnKernel: returnKernel)
    }
}

/// A capture plan (or another file frozen beside it, such as `CaptureNetwork`'s) that cannot be written or read:
/// the file, the line (0 when not tied to one) and what is wrong.
public struct CapturePlanError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The 1-based line number, or 0.
    public var line: Int
    /// What is wrong.
    public var message: String
    /// The file inside the initramfs.
    public var file: String

    public init(line: Int, message: String, file: String = CapturePlan.pathInInitramfs) {
        self.line = line
        self.message = message
        self.file = file
    }

    public var description: String {
        line > 0 ? "\(file) line \(line): \(message)" : "\(file): \(message)"
    }
}
