import SystemCalls
import VMCore

/// Saves a dump from a vmcore file into a dump directory: `dmesg.txt` first, then `vmcore`, then `metadata.json`.
///
/// Every failure is caught, logged and recorded: what was saved stays in `<output>.incomplete` with metadata
/// marked incomplete. Only a dump whose every file was written and synced is renamed to `<output>`.
public struct OfflineCapture {
    /// The dump formats this version writes.
    public enum Format: String, Sendable {
        /// ELF64 core, readable by vmcore-dmesg, makedumpfile, crash and drgn.
        case elf
    }

    /// What to capture and where.
    public struct Options: Sendable {
        public var vmcorePath: String
        public var outputDirectory: String
        public var dumpLevel: DumpLevel
        public var format: Format
        public var windowSize: Int
        /// Physical address of the oopsd module's breadcrumb (`oopsd.breadcrumb=` on the capture command line).
        public var breadcrumbAddress: UInt64?

        public init(vmcorePath: String, outputDirectory: String, dumpLevel: DumpLevel, format: Format = .elf,
            windowSize: Int = 64 << 20, breadcrumbAddress: UInt64? = nil)
        {
            self.breadcrumbAddress = breadcrumbAddress
            self.vmcorePath = vmcorePath
            self.outputDirectory = outputDirectory
            self.dumpLevel = dumpLevel
            self.format = format
            self.windowSize = windowSize
        }
    }

    /// How the capture ended.
    public struct Outcome: Sendable {
        /// The directory holding what was saved (the final name when complete), nil when nothing could be created.
        public var directory: String?
        /// The metadata as written (or as it would have been).
        public var metadata: DumpMetadata
        /// Whether every file was written, synced and the directory renamed.
        public var isComplete: Bool { metadata.incompleteReason == nil && directory != nil }
    }

    public let options: Options
    /// Receives one line per event (progress, warnings, errors).
    public let log: (String) -> Void

    public init(options: Options, log: @escaping (String) -> Void) {
        self.options = options
        self.log = log
    }

    /// Runs the capture. Never throws: failures end up in the outcome's metadata and the log.
    public func run() -> Outcome {
        let start = CaptureClock.monotonicNanoseconds()
        var metadata = DumpMetadata(source: options.vmcorePath, level: options.dumpLevel, format: options.format.rawValue)
        if let warning = options.dumpLevel.warning {
            log("warning: " + warning)
            metadata.warnings.append(warning)
        }
        func fail(_ reason: String) {
            log("error: " + reason)
            if metadata.incompleteReason == nil { metadata.incompleteReason = reason }
        }

        let directory: DumpDirectory
        do {
            directory = try DumpDirectory.create(options.outputDirectory)
        } catch {
            fail("cannot create the dump directory: \(error)")
            return Outcome(directory: nil, metadata: metadata)
        }
        func finish() -> Outcome {
            metadata.durationMilliseconds = (CaptureClock.monotonicNanoseconds() - start) / 1_000_000
            metadata.peakResidentKiB = SystemMemory.peakResidentKiB()
            metadata.memAvailableKiB = SystemMemory.availableKiB()
            do {
                try directory.replaceFile(DumpDirectory.FileName.metadata, Array(metadata.json.serialized().utf8))
            } catch {
                fail("cannot write \(directory.path(DumpDirectory.FileName.metadata)): \(error)")
            }
            guard metadata.incompleteReason == nil else {
                log("incomplete dump kept in \(directory.temporaryPath): \(metadata.incompleteReason!)")
                return Outcome(directory: directory.temporaryPath, metadata: metadata)
            }
            do {
                try directory.complete()
            } catch {
                fail("cannot rename \(directory.temporaryPath) to \(directory.finalPath): \(error)")
                return Outcome(directory: directory.temporaryPath, metadata: metadata)
            }
            log("dump complete in \(directory.finalPath)")
            return Outcome(directory: directory.finalPath, metadata: metadata)
        }

        let core: ELFCore
        do {
            core = try ELFCore.open(options.vmcorePath)
        } catch {
            fail("cannot read \(options.vmcorePath): \(error)")
            return finish()
        }
        defer { try? core.close() }
        metadata.cpuCount = core.cpus.count
        if let address = options.breadcrumbAddress {
            do {
                let crumb = try Breadcrumb.read(from: core, physicalAddress: address)
                metadata.breadcrumb = crumb
                log("breadcrumb: \(crumb.eventName) \"\(crumb.dieString)\" in \(crumb.command) (pid \(crumb.pid)), rip 0x\(String(crumb.instructionPointer ?? 0, radix: 16))")
            } catch {
                log("breadcrumb at 0x\(String(address, radix: 16)): \(error)")
                metadata.warnings.append("breadcrumb at 0x\(String(address, radix: 16)): \(error)")
            }
        }
        if let info = core.vmcoreInfo {
            metadata.kernelRelease = info.osRelease
            metadata.buildID = info.buildID
            metadata.crashTime = info.crashTime
        }

        // 1. The log: small and the most valuable, so first.
        do {
            let records = try PrintkRing.records(of: core)
            metadata.panicLine = PanicLine.find(in: records)
            try directory.writeFile(DumpDirectory.FileName.dmesg, DmesgFormat.text(records))
            log("saved \(records.count) log records to \(directory.path(DumpDirectory.FileName.dmesg))")
        } catch {
            fail("cannot save the kernel log: \(error)")
        }
        // Metadata before the memory: if the memory dump dies, the dump still says it is incomplete.
        var early = metadata
        early.incompleteReason = early.incompleteReason ?? "capture interrupted while writing the vmcore"
        try? directory.replaceFile(DumpDirectory.FileName.metadata, Array(early.json.serialized().utf8))

        // 2. The memory.
        do {
            let output = try directory.createFile(DumpDirectory.FileName.vmcore)
            defer { try? output.close() }
            try ELFCoreWriter(windowSize: options.windowSize)
                .write(core, to: output, excludeZeroPages: options.dumpLevel.excludesZeroPages, statistics: &metadata.statistics)
            log("saved \(metadata.statistics.writtenPages) of \(metadata.statistics.totalPages) pages "
                + "(\(metadata.statistics.excludedZeroPages) zero pages left out) to "
                + directory.path(DumpDirectory.FileName.vmcore))
        } catch {
            fail("cannot save the memory: \(error)")
        }
        return finish()
    }
}
