import DumpFormat
import SystemCalls
import VMCore

/// Saves a dump from a vmcore file into a dump directory: `dmesg.txt` first, then `vmcore`, then `metadata.json`.
/// The capture kernel's PID 1 (`CaptureKernelRun`), `oopsd-capture --vmcore` and `oopsctl dump --format` run it.
///
/// Every failure is caught, logged and recorded: what was saved stays in `<output>.incomplete` with metadata
/// marked incomplete. Only a dump whose every file was written and synced is renamed to `<output>`.
public struct DumpSaver {
    /// What to capture and where.
    public struct Options: Sendable {
        public var vmcorePath: String
        public var outputDirectory: String
        public var dumpLevel: DumpLevel
        public var format: MemoryFormat
        /// Page compression of the kdump format.
        public var compression: PageCompression
        /// Compression threads; 0 uses every online CPU.
        public var threads: Int
        public var windowSize: Int
        /// Physical address of the oopsd module's breadcrumb (`oopsd.breadcrumb=` on the capture command line).
        public var breadcrumbAddress: UInt64?

        public init(vmcorePath: String, outputDirectory: String, dumpLevel: DumpLevel, format: MemoryFormat = .elf,
            compression: PageCompression = .zstd, threads: Int = 0, windowSize: Int = 8 << 20,
            breadcrumbAddress: UInt64? = nil)
        {
            self.breadcrumbAddress = breadcrumbAddress
            self.vmcorePath = vmcorePath
            self.outputDirectory = outputDirectory
            self.dumpLevel = dumpLevel
            self.format = format
            self.compression = compression
            self.threads = threads
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

    /// Opens the vmcore and saves the dump. Never throws: failures end up in the outcome's metadata and the log.
    public func run() -> Outcome {
        let opened: Result<ELFCore, any Error>
        do {
            opened = .success(try ELFCore.open(options.vmcorePath))
        } catch {
            opened = .failure(error)
        }
        return run(opened)
    }

    /// Saves the dump from `opened`, the vmcore of `options` as the caller opened it (or why it could not);
    /// closes it. Never throws: failures end up in the outcome's metadata and the log.
    public func run(_ opened: Result<ELFCore, any Error>) -> Outcome {
        let start = CaptureClock.monotonicNanoseconds()
        var metadata = DumpMetadata(
            source: options.vmcorePath, level: options.dumpLevel, format: options.format, toolVersion: ToolVersion.current)
        if options.format == .kdump { metadata.compression = options.compression }
        func fail(_ reason: String) {
            log("error: " + reason)
            if metadata.incompleteReason == nil { metadata.incompleteReason = reason }
        }

        let directory: DumpDirectory
        do {
            directory = try DumpDirectory.create(options.outputDirectory)
        } catch {
            fail("cannot create the dump directory: \(error)")
            if case .success(let core) = opened { try? core.close() }
            return Outcome(directory: nil, metadata: metadata)
        }
        func finish() -> Outcome {
            metadata.durationMilliseconds = (CaptureClock.monotonicNanoseconds() - start) / 1_000_000
            metadata.peakResidentKiB = SystemMemory.peakResidentKiB()
            metadata.memAvailableKiB = SystemMemory.availableKiB()
            do {
                try directory.replaceFile(DumpLayout.metadata, metadata.bytes)
            } catch {
                fail("cannot write \(directory.path(DumpLayout.metadata)): \(error)")
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
        switch opened {
        case .success(let opened): core = opened
        case .failure(let error):
            fail("cannot read \(options.vmcorePath): \(error)")
            return finish()
        }
        defer { try? core.close() }
        metadata.cpuCount = core.cpus.count
        if let address = options.breadcrumbAddress {
            do {
                let crumb = try Breadcrumb.read(from: core, physicalAddress: address)
                metadata.breadcrumb = DumpMetadata.Breadcrumb(crumb)
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
            try directory.writeFile(DumpLayout.dmesg, DmesgFormat.text(records))
            log("saved \(records.count) log records to \(directory.path(DumpLayout.dmesg))")
            if records.isEmpty {
                // A crashed kernel always logged something (at least the panic): an empty log means the ring's
                // layout or indices are corrupt, which the user must be told.
                let warning = "the printk ring held no readable record: dmesg.txt is empty (corrupt ring indices "
                    + "or VMCOREINFO printk offsets)"
                log("warning: " + warning)
                metadata.warnings.append(warning)
            }
        } catch {
            fail("cannot save the kernel log: \(error)")
        }
        // Metadata before the memory: if the memory dump dies, the dump still says it is incomplete.
        var early = metadata
        early.incompleteReason = early.incompleteReason ?? "capture interrupted while writing the vmcore"
        try? directory.replaceFile(DumpLayout.metadata, early.bytes)

        // 2. Which pages to keep.
        let walkStart = CaptureClock.monotonicNanoseconds()
        let selection = PageSelector.select(core, level: options.dumpLevel)
        metadata.dumpLevelApplied = selection.level.applied
        metadata.excludedByCategory = PageClassifier.Category.allCases.map { ("\($0)", selection.count($0)) }
        for warning in selection.warnings {
            log("warning: " + warning)
            metadata.warnings.append(warning)
        }
        if options.dumpLevel.needsPageWalk {
            let excluded = selection.excluded.reduce(0, +)
            log("dump level \(selection.level.applied): \(excluded) of \(selection.present.population) pages left out "
                + "by struct page (" + PageClassifier.Category.allCases.map { "\($0): \(selection.count($0))" }
                    .joined(separator: ", ")
                + ") in \((CaptureClock.monotonicNanoseconds() - walkStart) / 1_000_000) ms")
        }

        // 3. The memory.
        let fileName = options.format.fileName
        // Room for metadata.json and capture.log if the target fills up while the memory is written.
        let reserve = SpaceReserve.claim(in: directory.temporaryPath)
        if let problem = reserve.problem { log("warning: no space set aside for the metadata: " + problem) }
        do {
            let output = try directory.createFile(fileName)
            defer { try? output.close() }
            switch options.format {
            case .elf:
                try ELFCoreWriter(windowSize: options.windowSize).write(
                    core, to: output, excludeZeroPages: selection.level.excludesZeroPages,
                    keep: selection.level.needsPageWalk ? selection.kept : nil, statistics: &metadata.statistics)
            case .kdump:
                let writer = KdumpWriter(compression: options.compression, threads: options.threads)
                log("writing kdump-compressed (\(options.compression.rawValue)) with \(writer.threads) threads")
                try writer.write(core, selection: selection, excludeZeroPages: selection.level.excludesZeroPages,
                    to: output, statistics: &metadata.statistics)
            }
            log("saved \(metadata.statistics.writtenPages) of \(metadata.statistics.totalPages) pages "
                + "(\(metadata.statistics.excludedZeroPages) zero pages, \(metadata.statistics.excludedFilteredPages) "
                + "filtered pages left out) to " + directory.path(fileName))
        } catch {
            fail("cannot save the memory: \(error)")
        }
        reserve.release()
        return finish()
    }
}
