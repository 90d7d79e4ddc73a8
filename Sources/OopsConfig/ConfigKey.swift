import DumpFormat

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
    /// A size (`512M`), no percentage.
    case size

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
        case .size: "expected a size (e.g. 64M, 1G)"
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

    /// True for a key of a named-section template (`[Upload.*]`): it applies in every `[Upload.NAME]`.
    public var isTemplate: Bool { section.hasSuffix(".*") }

    /// This template key as it stands in the named section `section` (`Upload.s3-fleet`).
    public func instance(in section: String) -> ConfigKey {
        ConfigKey(section: section, name: name, kind: kind, defaultText: defaultText, summary: summary)
    }

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
    public static let captureTarget = ConfigKey(
        section: "Capture", name: "Target", kind: .text, defaultText: "",
        summary: "Empty: dumps go to Directory=. Else the URL= of an [Upload.NAME] section (s3://BUCKET/PREFIX or "
            + "sftp://USER@HOST[:PORT]/PATH): the capture kernel sends the dump there over the network, with that "
            + "section's endpoint, credentials or key, through the interface of the default route; Directory=, when on a local disk, is the "
            + "fallback.")
    public static let dumpLevel = ConfigKey(
        section: "Capture", name: "DumpLevel", kind: .integer(0...31), defaultText: "31",
        summary: "Pages to leave out, makedumpfile's bits: 1 zero, 2 cache, 4 private cache, 8 user, 16 free.")
    public static let format = ConfigKey(
        section: "Capture", name: "Format", kind: .choice(MemoryFormat.allCases.map(\.rawValue)), defaultText: "elf",
        summary: "Dump file format: elf (vmcore) or kdump (compressed, vmcore.kdump).")
    public static let compression = ConfigKey(
        section: "Capture", name: "Compression", kind: .choice(PageCompression.allCases.map(\.rawValue)),
        defaultText: "zstd",
        summary: "Per-page compression of the kdump format: zstd, or zlib for old readers (the format has no lz4).")
    public static let captureTimeout = ConfigKey(
        section: "Capture", name: "Timeout", kind: .timeSpan, defaultText: "30min",
        summary: "A capture still running after this is ended and FailureAction= taken.")
    public static let finalAction = ConfigKey(
        section: "Capture", name: "FinalAction", kind: .choice(FinalAction.allCases.map(\.rawValue)),
        defaultText: "reboot",
        summary:
            "What the capture kernel does after a successful dump; kexec: back into production without the firmware.")
    public static let failureAction = ConfigKey(
        section: "Capture", name: "FailureAction", kind: .choice(FinalAction.allCases.map(\.rawValue)),
        defaultText: "reboot",
        summary: "What the capture kernel does after a failed or timed-out dump (a timeout's kexec is a reboot).")
    public static let returnKernel = ConfigKey(
        section: "Capture", name: "ReturnKernel", kind: .path, defaultText: "",
        summary: "With FinalAction= or FailureAction=kexec: the kernel to return to (empty: the armed kernel image).")
    public static let returnInitramfs = ConfigKey(
        section: "Capture", name: "ReturnInitramfs", kind: .path, defaultText: "",
        summary: "With kexec: the initramfs to return with (empty: /boot/initrd.img-<release>).")
    public static let captureCPUs = ConfigKey(
        section: "Capture", name: "CPUs", kind: .integer(1...64), defaultText: "1",
        summary: "CPUs the capture kernel brings up (nr_cpus=); more compress faster but need more memory.")

    public static let kernelImage = ConfigKey(
        section: "Kernel", name: "Image", kind: .path, defaultText: "",
        summary: "Capture kernel image; empty: the running release's /boot/vmlinuz-<release>, else "
            + "/usr/lib/modules/<release>/vmlinuz.")
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
        section: "Retention", name: "MaxUse", kind: .sizeOrPercent, defaultText: "25%",
        summary: "Dumps may use at most this much, a size or a percentage of the file system.")
    public static let keepFree = ConfigKey(
        section: "Retention", name: "KeepFree", kind: .sizeOrPercent, defaultText: "10%",
        summary: "Delete old dumps to keep at least this much of the file system free.")
    public static let deleteUnshipped = ConfigKey(
        section: "Retention", name: "DeleteUnshipped", kind: .boolean, defaultText: "no",
        summary: "Allow deleting dumps not yet shipped to a configured upload target.")

    public static let rearmDelay = ConfigKey(
        section: "Service", name: "RearmDelay", kind: .timeSpan, defaultText: "2s",
        summary:
            "Wait this long after the last change to configuration, kernel or modules before re-arming (kernel and modules: 30s at least, package managers write them in bursts)."
    )

    public static let metricsFile = ConfigKey(
        section: "Upload", name: "MetricsFile", kind: .path,
        defaultText: "/var/lib/prometheus/node-exporter/oopsd.prom",
        summary: "Prometheus textfile with oopsd's state for node_exporter's textfile collector (empty: none).")
    public static let uploadRetryInterval = ConfigKey(
        section: "Upload", name: "RetryInterval", kind: .timeSpan, defaultText: "1min",
        summary: "Wait before shipping a dump again after a failed round; doubles per failure up to 1h, with jitter.")
    public static let uploadAttempts = ConfigKey(
        section: "Upload", name: "Attempts", kind: .integer(1...100), defaultText: "6",
        summary: "Tries per request within a round (backoff 1s, 2s, 4s... with jitter) before the round fails.")

    /// The prefix of named upload sections: `[Upload.NAME]`, one per target.
    public static let uploadTargetPrefix = "Upload."
    public static let uploadURL = ConfigKey(
        section: "Upload.*", name: "URL", kind: .text, defaultText: "",
        summary: "s3://BUCKET/PREFIX or sftp://USER@HOST[:PORT]/PATH; dumps go to PREFIX/<machine-id>/<dump-id>/.")
    public static let uploadEndpoint = ConfigKey(
        section: "Upload.*", name: "Endpoint", kind: .text, defaultText: "",
        summary: "S3: the service URL, e.g. https://rgw.example.net:7480 (empty: AWS, https://s3.REGION.amazonaws.com)."
    )
    public static let uploadRegion = ConfigKey(
        section: "Upload.*", name: "Region", kind: .text, defaultText: "us-east-1",
        summary: "S3: the region signed into requests (AWS Signature Version 4).")
    public static let uploadAddressing = ConfigKey(
        section: "Upload.*", name: "Addressing", kind: .choice(["path", "virtual"]), defaultText: "path",
        summary: "S3: ENDPOINT/BUCKET/KEY (path) or BUCKET.ENDPOINT-HOST/KEY (virtual host).")
    public static let uploadCredentials = ConfigKey(
        section: "Upload.*", name: "Credentials", kind: .text, defaultText: "",
        summary: "S3: AWS-style credentials file, not readable by group or others; a bare name is looked up in "
            + "$CREDENTIALS_DIRECTORY.")
    public static let uploadKeyFile = ConfigKey(
        section: "Upload.*", name: "KeyFile", kind: .path, defaultText: "",
        summary: "SFTP: the private key to log in with (its .pub next to it).")
    public static let uploadHostKey = ConfigKey(
        section: "Upload.*", name: "HostKey", kind: .text, defaultText: "",
        summary: "SFTP: the server's pinned host key, SHA256:BASE64 as ssh-keygen -lf prints it (required).")
    public static let uploadMaxRate = ConfigKey(
        section: "Upload.*", name: "MaxRate", kind: .size, defaultText: "",
        summary: "Upload at most this many bytes per second to this target (empty: no limit).")
    public static let uploadPartSize = ConfigKey(
        section: "Upload.*", name: "PartSize", kind: .size, defaultText: "32M",
        summary: "S3: multipart part size (5M or more); each acknowledged part is remembered across restarts.")

    /// Every key, in the order `oopsctl config` and `Config/oopsd.conf` show them.
    public static let all: [ConfigKey] = [
        captureDirectory, captureTarget, dumpLevel, format, compression, captureTimeout, finalAction, failureAction,
        returnKernel, returnInitramfs, captureCPUs,
        kernelImage, kernelCommandLine, extraModules, oopsModule, panicTimeout,
        maxDumps, maxUse, keepFree, deleteUnshipped,
        rearmDelay,
        metricsFile, uploadRetryInterval, uploadAttempts,
        uploadURL, uploadEndpoint, uploadRegion, uploadAddressing, uploadCredentials, uploadKeyFile, uploadHostKey,
        uploadMaxRate, uploadPartSize,
    ]

    /// The sections in order, templates (`Upload.*`) included.
    public static let sections: [String] = {
        var seen: [String] = []
        for key in all where !seen.contains(key.section) { seen.append(key.section) }
        return seen
    }()

    /// The keys of each section of `all` (a template's under its own name, `Upload.*`), in order. Computed once:
    /// the parser looks up every assignment and the renderers every section, and filtering `all` each time was
    /// most of the cost of reading a configuration.
    static let keysBySection: [String: [ConfigKey]] = Dictionary(grouping: all, by: \.section)

    /// The template section a named section instantiates (`Upload.fleet` -> `Upload.*`), if any.
    public static func template(of section: String) -> String? {
        guard let dot = section.firstIndex(of: "."), section.index(after: dot) < section.endIndex,
            !section.hasSuffix(".*")
        else { return nil }
        let template = String(section[..<dot] + ".*")
        return keysBySection[template] != nil ? template : nil
    }

    /// The keys of `section`: fixed ones, or a template's keys instantiated in a named section.
    public static func keys(in section: String) -> [ConfigKey] {
        if let template = template(of: section) {
            return keysBySection[template, default: []].map { $0.instance(in: section) }
        }
        return section.hasSuffix(".*") ? [] : keysBySection[section, default: []]
    }

    /// The key named `name` in `section`, if oopsd knows it.
    public static func lookup(section: String, name: String) -> ConfigKey? {
        if let template = template(of: section) {
            return keysBySection[template]?.first { $0.name == name }?.instance(in: section)
        }
        return section.hasSuffix(".*") ? nil : keysBySection[section]?.first { $0.name == name }
    }
}
