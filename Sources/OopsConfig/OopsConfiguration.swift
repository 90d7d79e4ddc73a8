import DumpFormat

/// oopsd's configuration as typed values, read from a merged configuration.
public struct OopsConfiguration: Equatable, Sendable {
    /// `[Capture]`.
    public struct Capture: Equatable, Sendable {
        public var directory: String
        /// `Target=`: empty, or the `URL=` of an `[Upload.NAME]` section the capture kernel sends the dump to.
        public var target: String
        public var dumpLevel: Int
        public var format: MemoryFormat
        public var compression: PageCompression
        public var timeout: TimeSpan
        public var finalAction: FinalAction
        public var failureAction: FinalAction
        /// `ReturnKernel=`, `ReturnInitramfs=`: empty means the defaults (see `ConfigKeys`).
        public var returnKernel: String
        public var returnInitramfs: String
        public var cpus: Int
    }

    /// `[Kernel]`.
    public struct Kernel: Equatable, Sendable {
        /// Empty: the running release's `/boot/vmlinuz-<release>`, else `/usr/lib/modules/<release>/vmlinuz`.
        public var image: String
        public var commandLine: [String]
        public var extraModules: [String]
        public var oopsModule: Bool
        public var panicTimeout: TimeSpan
    }

    /// `[Retention]`.
    public struct Retention: Equatable, Sendable {
        public var maxDumps: Int
        public var maxUse: SizeOrPercent
        public var keepFree: SizeOrPercent
        public var deleteUnshipped: Bool
    }

    /// `[Service]`.
    public struct Service: Equatable, Sendable {
        public var rearmDelay: TimeSpan
    }

    /// One `[Upload.NAME]` section: where dumps are shipped (checked further by the Upload module).
    public struct UploadTarget: Equatable, Sendable {
        /// NAME of `[Upload.NAME]`, the key of the target in `upload-state.json`.
        public var name: String
        public var url: String
        public var endpoint: String
        public var region: String
        /// `path` or `virtual`.
        public var addressing: String
        public var credentials: String
        public var keyFile: String
        public var hostKey: String
        /// Bytes per second; nil: no limit.
        public var maxRate: UInt64?
        public var partSize: UInt64
        /// Where `URL=` was set, for error messages (nil: not set).
        public var origin: ConfigOrigin?
    }

    /// `[Upload]` and every `[Upload.NAME]`.
    public struct Upload: Equatable, Sendable {
        public var metricsFile: String
        public var retryInterval: TimeSpan
        public var attempts: Int
        /// In the order their sections first appeared.
        public var targets: [UploadTarget]
    }

    public var capture: Capture
    public var kernel: Kernel
    public var retention: Retention
    public var service: Service
    public var upload: Upload

    /// The typed view of `merged` (values that failed to parse keep their previous or default value).
    public init(_ merged: MergedConfiguration) {
        func text(_ key: ConfigKey) -> String { merged.value(key).description }
        func int(_ key: ConfigKey) -> Int {
            if case .integer(let n) = merged.value(key) { n } else { Int(key.defaultText)! }
        }
        func bool(_ key: ConfigKey) -> Bool { if case .boolean(let b) = merged.value(key) { b } else { false } }
        func span(_ key: ConfigKey) -> TimeSpan {
            if case .timeSpan(let s) = merged.value(key) { s } else { TimeSpan.parse(key.defaultText)! }
        }
        func size(_ key: ConfigKey) -> SizeOrPercent {
            if case .sizeOrPercent(let s) = merged.value(key) {
                s
            } else {
                ByteSize.parseSizeOrPercent(key.defaultText)!
            }
        }
        func list(_ key: ConfigKey) -> [String] { if case .list(let words) = merged.value(key) { words } else { [] } }

        capture = Capture(
            directory: text(ConfigKeys.captureDirectory),
            target: text(ConfigKeys.captureTarget),
            dumpLevel: int(ConfigKeys.dumpLevel),
            format: MemoryFormat(rawValue: text(ConfigKeys.format)) ?? .elf,
            compression: PageCompression(rawValue: text(ConfigKeys.compression)) ?? .zstd,
            timeout: span(ConfigKeys.captureTimeout),
            finalAction: FinalAction(rawValue: text(ConfigKeys.finalAction)) ?? .reboot,
            failureAction: FinalAction(rawValue: text(ConfigKeys.failureAction)) ?? .reboot,
            returnKernel: text(ConfigKeys.returnKernel),
            returnInitramfs: text(ConfigKeys.returnInitramfs),
            cpus: int(ConfigKeys.captureCPUs))
        kernel = Kernel(
            image: text(ConfigKeys.kernelImage),
            commandLine: list(ConfigKeys.kernelCommandLine),
            extraModules: list(ConfigKeys.extraModules),
            oopsModule: bool(ConfigKeys.oopsModule),
            panicTimeout: span(ConfigKeys.panicTimeout))
        retention = Retention(
            maxDumps: int(ConfigKeys.maxDumps),
            maxUse: size(ConfigKeys.maxUse),
            keepFree: size(ConfigKeys.keepFree),
            deleteUnshipped: bool(ConfigKeys.deleteUnshipped))
        service = Service(rearmDelay: span(ConfigKeys.rearmDelay))
        func bytes(_ key: ConfigKey) -> UInt64? {
            if case .sizeOrPercent(.bytes(let n)) = merged.value(key) { n } else { nil }
        }
        upload = Upload(
            metricsFile: text(ConfigKeys.metricsFile),
            retryInterval: span(ConfigKeys.uploadRetryInterval),
            attempts: int(ConfigKeys.uploadAttempts),
            targets: merged.namedSections.map { section in
                func key(_ template: ConfigKey) -> ConfigKey { template.instance(in: section) }
                return UploadTarget(
                    name: String(section.dropFirst(ConfigKeys.uploadTargetPrefix.count)),
                    url: text(key(ConfigKeys.uploadURL)),
                    endpoint: text(key(ConfigKeys.uploadEndpoint)),
                    region: text(key(ConfigKeys.uploadRegion)),
                    addressing: text(key(ConfigKeys.uploadAddressing)),
                    credentials: text(key(ConfigKeys.uploadCredentials)),
                    keyFile: text(key(ConfigKeys.uploadKeyFile)),
                    hostKey: text(key(ConfigKeys.uploadHostKey)),
                    maxRate: bytes(key(ConfigKeys.uploadMaxRate)),
                    partSize: bytes(key(ConfigKeys.uploadPartSize)) ?? 32 << 20,
                    origin: merged.entry(key(ConfigKeys.uploadURL)).origin)
            })
    }
}
