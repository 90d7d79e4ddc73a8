/// The kind of value a key takes, which decides how its text is checked.
public enum ConfigValueKind: Equatable, Sendable {
    /// An absolute path.
    case path
    /// Free text.
    case text
    /// yes/no, true/false, on/off, 1/0.
    case boolean
    /// A whole number in a range.
    case integer(ClosedRange<Int>)
    /// One of a fixed set of words.
    case choice([String])
    /// A size (`512M`) or a percentage (`10%`).
    case sizeOrPercent
    /// A systemd time span (`90s`, `15min`).
    case timeSpan
    /// White-space separated words; each assignment appends, an empty one resets.
    case list

    /// What a valid value looks like, for error messages.
    public var expectation: String {
        switch self {
        case .path: "expected an absolute path"
        case .text: "expected text"
        case .boolean: "expected yes or no (also true/false, on/off, 1/0)"
        case .integer(let range): "expected \(range.lowerBound)..\(range.upperBound)"
        case .choice(let words): "expected one of " + words.joined(separator: ", ")
        case .sizeOrPercent: "expected a size (e.g. 512M, 2G) or a percentage (e.g. 10%)"
        case .timeSpan: "expected a time span (e.g. 90s, 15min, 1h 30min)"
        case .list: "expected a list of words"
        }
    }
}

/// One configuration key: where it lives, what it takes, its default and what it means.
public struct ConfigKey: Equatable, Hashable, Sendable {
    public var section: String
    public var name: String
    public var kind: ConfigValueKind
    /// The default, written as it would be in a file (empty: unset).
    public var defaultText: String
    /// One line for `Config/oopsd.conf` and `oopsctl config`.
    public var summary: String

    /// `Section.Name`, the key's identity.
    public var id: String { "\(section).\(name)" }

    public static func == (a: ConfigKey, b: ConfigKey) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

extension ConfigValueKind: Hashable {
    public func hash(into hasher: inout Hasher) { hasher.combine(expectation) }
}

/// The table of every key oopsd understands: the one place that decides names, kinds and defaults.
public enum ConfigKeys {
    public static let captureDirectory = ConfigKey(
        section: "Capture", name: "Directory", kind: .path, defaultText: "/var/crash",
        summary: "Where dumps are written and collected; each dump is a subdirectory.")
    public static let dumpLevel = ConfigKey(
        section: "Capture", name: "DumpLevel", kind: .integer(0...31), defaultText: "31",
        summary: "Pages to leave out, makedumpfile's bits: 1 zero, 2 cache, 4 private cache, 8 user, 16 free.")
    public static let format = ConfigKey(
        section: "Capture", name: "Format", kind: .choice(["elf", "kdump"]), defaultText: "elf",
        summary: "Dump file format: elf (vmcore) or kdump (compressed, vmcore.kdump).")
    public static let compression = ConfigKey(
        section: "Capture", name: "Compression", kind: .choice(["zstd", "lz4", "zlib", "none"]), defaultText: "zstd",
        summary: "Per-page compression of the kdump format.")
    public static let captureTimeout = ConfigKey(
        section: "Capture", name: "Timeout", kind: .timeSpan, defaultText: "30min",
        summary: "A capture still running after this is ended and FailureAction= taken.")
    public static let finalAction = ConfigKey(
        section: "Capture", name: "FinalAction", kind: .choice(["reboot", "poweroff", "halt"]), defaultText: "reboot",
        summary: "What the capture kernel does after a successful dump.")
    public static let failureAction = ConfigKey(
        section: "Capture", name: "FailureAction", kind: .choice(["reboot", "poweroff", "halt"]), defaultText: "reboot",
        summary: "What the capture kernel does after a failed or timed-out dump.")
    public static let captureCPUs = ConfigKey(
        section: "Capture", name: "CPUs", kind: .integer(1...64), defaultText: "1",
        summary: "CPUs the capture kernel brings up (nr_cpus=); more compress faster but need more memory.")

    public static let kernelImage = ConfigKey(
        section: "Kernel", name: "Image", kind: .path, defaultText: "",
        summary: "Capture kernel image; empty: /boot/vmlinuz-<running release>.")
    public static let kernelCommandLine = ConfigKey(
        section: "Kernel", name: "CommandLine", kind: .list, defaultText: "",
        summary: "Words appended to the capture kernel's command line.")
    public static let extraModules = ConfigKey(
        section: "Kernel", name: "ExtraModules", kind: .list, defaultText: "",
        summary: "Kernel modules added to the capture initramfs besides those the dump target needs.")
    public static let oopsModule = ConfigKey(
        section: "Kernel", name: "OopsModule", kind: .boolean, defaultText: "no",
        summary: "Load oopsd's kernel module so that an oops, not only a panic, enters the capture kernel.")
    public static let panicTimeout = ConfigKey(
        section: "Kernel", name: "PanicTimeout", kind: .timeSpan, defaultText: "10s",
        summary: "panic= of the capture kernel: a capture kernel that itself panics reboots after this.")

    public static let maxDumps = ConfigKey(
        section: "Retention", name: "MaxDumps", kind: .integer(0...100_000), defaultText: "5",
        summary: "Keep at most this many dumps (0: no limit by count).")
    public static let maxUse = ConfigKey(
        section: "Retention", name: "MaxUse", kind: .sizeOrPercent, defaultText: "10%",
        summary: "Dumps may use at most this much, a size or a percentage of the file system.")
    public static let keepFree = ConfigKey(
        section: "Retention", name: "KeepFree", kind: .sizeOrPercent, defaultText: "15%",
        summary: "Delete old dumps to keep at least this much of the file system free.")
    public static let deleteUnshipped = ConfigKey(
        section: "Retention", name: "DeleteUnshipped", kind: .boolean, defaultText: "no",
        summary: "Allow deleting dumps not yet shipped to a configured upload target.")

    public static let rearmDelay = ConfigKey(
        section: "Service", name: "RearmDelay", kind: .timeSpan, defaultText: "2s",
        summary: "Wait this long after the last change to configuration, kernel or modules before re-arming.")

    /// Every key, in the order `oopsctl config` and `Config/oopsd.conf` show them.
    public static let all: [ConfigKey] = [
        captureDirectory, dumpLevel, format, compression, captureTimeout, finalAction, failureAction, captureCPUs,
        kernelImage, kernelCommandLine, extraModules, oopsModule, panicTimeout,
        maxDumps, maxUse, keepFree, deleteUnshipped,
        rearmDelay,
    ]

    /// The sections in order.
    public static var sections: [String] {
        var seen: [String] = []
        for key in all where !seen.contains(key.section) { seen.append(key.section) }
        return seen
    }

    /// The key named `name` in `section`, if oopsd knows it.
    public static func lookup(section: String, name: String) -> ConfigKey? {
        all.first { $0.section == section && $0.name == name }
    }
}
