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
        /// Compression threads; 0: one per CPU it may run on (`ParallelWorkers.availableCPUs`).
        public var threads: Int
        public var windowSize: Int
        /// Physical address of the oopsd module's breadcrumb (`oopsd.breadcrumb=` on the capture command line).
        public var breadcrumbAddress: UInt64?
        /// How an ELF vmcore lays out its pages: packed (the default: no holes, zero pages stored, `PN_XNUM` past
        /// 65,534 segments) or sparse (for readers without `PN_XNUM`: zero pages are holes).
        public var elfLayout: ELFCoreWriter.Layout
        /// Write an ELF vmcore's pages with `O_DIRECT`, past the page cache, where the file system allows it
        /// (`DirectFileOutput`); false: through the page cache.
        public var directWrites = true
        /// Run the log and each memory attempt in a child process (nil: in this process, without fallbacks, for
        /// callers with threads of their own such as `oopsctl`).
        public var isolation: Isolation?
        /// Send the dump to the network as it is saved (`[Capture] Target=s3://...` or `sftp://...`): dmesg.txt and metadata.json
        /// once written, the memory streamed (the kdump format in makedumpfile's flattened form); nil: files only.
        public var uploader: CaptureUploader?
        /// Warnings to record from the start (e.g. why this is a fallback capture).
        public var warnings: [String] = []

        public init(
            vmcorePath: String, outputDirectory: String, dumpLevel: DumpLevel, format: MemoryFormat = .elf,
            compression: PageCompression = .zstd, threads: Int = 0, windowSize: Int = 8 << 20,
            breadcrumbAddress: UInt64? = nil, isolation: Isolation? = nil, elfLayout: ELFCoreWriter.Layout = .packed
        ) {
            self.elfLayout = elfLayout
            self.breadcrumbAddress = breadcrumbAddress
            self.isolation = isolation
            self.vmcorePath = vmcorePath
            self.outputDirectory = outputDirectory
            self.dumpLevel = dumpLevel
            self.format = format
            self.compression = compression
            self.threads = threads
            self.windowSize = windowSize
        }
    }

    /// How the steps of an isolated save are confined (`CaptureChild`).
    public struct Isolation: Sendable {
        /// The child's `RLIMIT_DATA`.
        public enum MemoryLimit: Sendable {
            /// From what the system has left when the step starts (`SystemMemory.childDataLimitBytes`).
            case available
            /// A fixed number of bytes.
            case bytes(UInt64)
        }

        /// Seconds the whole save may take: the log step gets a quarter of what is left, each memory attempt half
        /// (the last one all), less `marginSeconds` kept for metadata.json and the rename.
        public var seconds: UInt64
        public var memoryLimit: MemoryLimit
        /// Kept back from every step's time for what PID 1 does after it.
        public var marginSeconds: UInt64 = 10
        /// Seconds a step may go without progress (CPU time in user space, I/O, a report) before it is taken for stuck
        /// and killed (`CaptureChild.Limits.stallSeconds`); a memory attempt stuck on several threads is tried again
        /// on one.
        /// Not for a capture that streams to the network, whose steps wait for the upload.
        public var stallSeconds: UInt64?
        /// When a step is stuck, also have the kernel print its blocked tasks and CPU backtraces to the console
        /// through this file (`CaptureChild.Limits.sysrqTrigger`): /proc/sysrq-trigger for PID 1 in the capture
        /// kernel.
        public var sysrqTrigger: String?

        public init(
            seconds: UInt64, memoryLimit: MemoryLimit = .available, stallSeconds: UInt64? = 120,
            sysrqTrigger: String? = nil
        ) {
            self.seconds = seconds
            self.memoryLimit = memoryLimit
            self.stallSeconds = stallSeconds
            self.sysrqTrigger = sysrqTrigger
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
            source: options.vmcorePath, level: options.dumpLevel, format: options.format,
            toolVersion: ToolVersion.current)
        if options.format == .kdump { metadata.compression = options.compression }
        metadata.warnings += options.warnings
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
            // The highest of this process's and its steps' (each child reports its own).
            metadata.peakResidentKiB = max(metadata.peakResidentKiB ?? 0, SystemMemory.peakResidentKiB() ?? 0)
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
        let deadline = options.isolation.map { start &+ min($0.seconds, 1 << 32) * 1_000_000_000 }

        // 1. The log: small and the most valuable, so first, and synced before anything else can fail.
        if let failure = runStep(
            "reading the kernel log", share: 4, deadline: deadline, metadata: &metadata,
            {
                metadata, step, log in try saveLog(core, into: directory, metadata: &metadata, step: step, log: log)
            })
        {
            fail("cannot save the kernel log: \(failure)")
        }
        // dmesg.txt is synced by its step; its name and the directory's too, before any memory step can fail.
        do { try directory.syncNames() } catch { log("warning: cannot sync \(directory.temporaryPath): \(error)") }
        // Metadata before the memory: if the memory dump dies, the dump still says it is incomplete.
        var early = metadata
        early.incompleteReason = early.incompleteReason ?? "capture interrupted while writing the vmcore"
        try? directory.replaceFile(DumpLayout.metadata, early.bytes)
        if let uploader = options.uploader {
            // The log and the metadata leave first: if the memory does not make it, they have.
            for name in [DumpLayout.dmesg, DumpLayout.metadata] where FileSystem.exists(directory.path(name)) {
                do {
                    let stored = try uploader.store(directory.path(name), as: name)
                    try directory.replaceFile(CaptureUploader.storedRecord(name), Array(stored.manifestLine.utf8))
                    log("sent \(name) (\(stored.size) bytes)")
                } catch {
                    fail("cannot send \(name): \(error)")
                    return finish()
                }
            }
        }

        // 2. The memory: the level asked for, else less filtered, else a plain copy (`MemoryAttempt.chain`).
        // Room for metadata.json and capture.log if the target fills up while the memory is written.
        let reserve = SpaceReserve.claim(in: directory.temporaryPath)
        if let problem = reserve.problem { log("warning: no space set aside for the metadata: " + problem) }
        // A stream only moves forward: the kdump format, which fills its page table after the pages, is sent in
        // makedumpfile's flattened format (`MemoryFormat.streamedFileName`).
        let format = options.format
        var attempts =
            options.isolation == nil
            ? [MemoryAttempt(level: options.dumpLevel, format: format, isPlainCopy: false)]
            : MemoryAttempt.chain(level: options.dumpLevel, format: format)
        var saved = false
        var index = 0
        while index < attempts.count {
            let attempt = attempts[index]
            index += 1
            var result = metadata
            let failure = runStep(
                "saving the memory as \(attempt.summary)", share: index < attempts.count ? 2 : 1,
                deadline: deadline, metadata: &result
            ) { metadata, step, log in
                try saveMemory(core, attempt: attempt, into: directory, metadata: &metadata, step: step, log: log)
            }
            guard let failure else {
                metadata = result
                saved = true
                break
            }
            if case .error = failure {
                // An error the code reported (no space, an unreadable PT_LOAD): another way would meet it too.
                metadata = result
                fail("cannot save the memory: \(failure)")
                break
            }
            // A step stuck on several threads may be stuck on them (threads waiting for each other): one more try
            // on one, before a less filtered way.
            var retrying = false
            if case .stalled = failure, let retry = attempt.onOneThread(after: threads(of: attempt)) {
                attempts.insert(retry, at: index)
                retrying = true
            }
            let next = index < attempts.count ? attempts[index] : nil
            // The step died, was killed or timed out: what it wrote is not to be trusted.
            directory.removeFile(attempt.format.fileName)
            let why = failure.description
            let warning =
                "\(attempt.summary) failed: \(why); "
                + (retrying
                    ? "trying it again on one thread"
                    : next.map { "falling back to \($0.summary)" } ?? "no way of saving the memory is left")
            log("warning: " + warning)
            metadata.warnings.append(warning)
            if next == nil { fail("no memory saved: every way of saving it failed (see warnings)") }
        }
        if saved, metadata.dumpLevelApplied != options.dumpLevel.requested || metadata.format != options.format {
            log(
                "saved the memory at dump level \(metadata.dumpLevelApplied ?? 0) "
                    + "(\(metadata.format?.rawValue ?? "?")) instead of \(options.dumpLevel.requested) "
                    + "(\(options.format.rawValue)): see the warnings")
        }
        reserve.release()
        return finish()
    }

    /// How a step ended badly.
    enum StepFailure: Error, CustomStringConvertible {
        /// The step reported an error (it threw).
        case error(String)
        /// The step's process died, was killed or ran out of time: it said nothing more.
        case died(String)
        /// The step's process made no progress for `Isolation.stallSeconds` and was killed.
        case stalled(String)

        var description: String {
            switch self {
            case .error(let text), .died(let text), .stalled(let text): text
            }
        }
    }

    /// The threads `attempt` runs on.
    func threads(of attempt: MemoryAttempt) -> Int {
        attempt.threads > 0 ? attempt.threads : options.threads > 0 ? options.threads : ParallelWorkers.availableCPUs
    }

    /// A step: `(metadata, step, log)`: fills `metadata`, names what it is doing through `step` (the last name is
    /// the one a death is blamed on) and logs through `log`.
    typealias Step = (inout DumpMetadata, (String) -> Void, (String) -> Void) throws -> Void

    /// Runs `body` on `metadata`: in a child process when isolated (the child's metadata comes back as one JSON
    /// line and replaces `metadata`), else here. `share`: the step gets 1/share of the time left. nil when it
    /// completed.
    func runStep(
        _ name: String, share: UInt64, deadline: UInt64?, metadata: inout DumpMetadata, _ body: Step
    ) -> StepFailure? {
        guard let isolation = options.isolation, let deadline else {
            do {
                try body(&metadata, { _ in }, log)
                return nil
            } catch {
                return .error("\(error)")
            }
        }
        let now = CaptureClock.monotonicNanoseconds()
        let left = deadline > now ? (deadline - now) / 1_000_000_000 : 0
        let seconds = max(1, left > isolation.marginSeconds ? (left - isolation.marginSeconds) / share : 1)
        let dataBytes: UInt64?
        switch isolation.memoryLimit {
        case .available: dataBytes = SystemMemory.childDataLimitBytes()
        case .bytes(let bytes): dataBytes = bytes
        }
        log("step \(name): limits: RLIMIT_DATA \(dataBytes.map { "\($0 >> 20) MiB" } ?? "none"), \(seconds) s")
        var lastStep = name
        var reported: DumpMetadata?
        var reportedError: String?
        // A step that streams to the network waits, legitimately, while the upload helper sends a part over a slow
        // link (minutes for a part at 100 KB/s): there only the time limit ends it.
        let limits = CaptureChild.Limits(
            dataBytes: dataBytes, seconds: seconds,
            stallSeconds: options.uploader == nil ? isolation.stallSeconds : nil,
            sysrqTrigger: isolation.sysrqTrigger)
        let ending = CaptureChild.run(limits: limits) { line in
            if line.hasPrefix("log ") {
                log(String(line.dropFirst(4)))
            } else if line.hasPrefix("step ") {
                lastStep = String(line.dropFirst(5))
            } else if line.hasPrefix("error ") {
                reportedError = String(line.dropFirst(6))
            } else if line.hasPrefix("metadata ") {
                reported = try? DumpMetadata(json: Array(line.utf8.dropFirst(9)), path: "the report of '\(name)'")
            }
        } onNotice: { notice in
            log("step '\(lastStep)': \(notice)")
        } _: { [metadata] pipe in
            var copy = metadata
            let report = { (line: String) in CaptureChild.report(line, to: pipe) }
            var status: Int32 = 0
            do {
                try body(&copy, { report("step " + $0) }, { report("log " + $0) })
            } catch {
                report("error \(error)")
                status = 1
            }
            copy.peakResidentKiB = max(copy.peakResidentKiB ?? 0, SystemMemory.peakResidentKiB() ?? 0)
            report("metadata " + copy.json.compact())
            return status
        }
        if let reported { metadata = reported }
        if let failure = ending.failure {
            if case .exited(1) = ending, let reportedError { return .error(reportedError) }
            if case .stalled = ending { return .stalled("the step '\(lastStep)' \(failure)") }
            return .died("the step '\(lastStep)' \(failure)")
        }
        guard reported != nil else { return .died("the step '\(lastStep)' sent no report") }
        return nil
    }

    /// The log step: the dump's CPUs, breadcrumb and kernel release, then `dmesg.txt`, written and synced.
    func saveLog(
        _ core: ELFCore, into directory: DumpDirectory, metadata: inout DumpMetadata, step: (String) -> Void,
        log: (String) -> Void
    ) throws {
        step("reading the notes")
        recordHeader(of: core, in: &metadata)
        if let address = options.breadcrumbAddress {
            step("reading the breadcrumb at 0x\(String(address, radix: 16))")
            do {
                let crumb = try Breadcrumb.read(from: core, physicalAddress: address)
                metadata.breadcrumb = DumpMetadata.Breadcrumb(crumb)
                log(
                    "breadcrumb: \(crumb.eventName) \"\(crumb.dieString)\" in \(crumb.command) (pid \(crumb.pid)), rip 0x\(String(crumb.instructionPointer ?? 0, radix: 16))"
                )
            } catch {
                log("breadcrumb at 0x\(String(address, radix: 16)): \(error)")
                metadata.warnings.append("breadcrumb at 0x\(String(address, radix: 16)): \(error)")
            }
        }
        step("reading the printk ring")
        let records = try PrintkRing.records(of: core)
        metadata.panicLine = PanicLine.find(in: records)
        step("writing \(DumpLayout.dmesg)")
        try directory.writeFile(DumpLayout.dmesg, DmesgFormat.text(records))
        log("saved \(records.count) log records to \(directory.path(DumpLayout.dmesg))")
        if records.isEmpty {
            // A crashed kernel always logged something (at least the panic): an empty log means the ring's
            // layout or indices are corrupt, which the user must be told.
            let warning =
                "the printk ring held no readable record: dmesg.txt is empty (corrupt ring indices "
                + "or VMCOREINFO printk offsets)"
            log("warning: " + warning)
            metadata.warnings.append(warning)
        }
    }

    /// The CPUs and what VMCOREINFO says of the kernel (also when the log step could not record them).
    func recordHeader(of core: ELFCore, in metadata: inout DumpMetadata) {
        metadata.cpuCount = core.cpus.count
        if let info = core.vmcoreInfo {
            metadata.kernelRelease = info.osRelease
            metadata.buildID = info.buildID
            metadata.crashTime = info.crashTime
        }
    }

    /// One memory attempt: select the pages, then write them in the attempt's format.
    func saveMemory(
        _ core: ELFCore, attempt: MemoryAttempt, into directory: DumpDirectory, metadata: inout DumpMetadata,
        step: (String) -> Void, log: (String) -> Void
    ) throws {
        if metadata.kernelRelease == nil { recordHeader(of: core, in: &metadata) }
        metadata.format = attempt.format
        metadata.compression = attempt.format == .kdump ? options.compression : nil
        let level = attempt.level
        let walkStart = CaptureClock.monotonicNanoseconds()
        if level.needsPageWalk {
            // Named with the layout values the walk sizes itself by, so that a death says which.
            let info = core.vmcoreInfo
            step(
                "selecting pages at dump level \(level.applied) (SIZE(page)=\(info?["SIZE(page)"] ?? "?"), "
                    + "SECTION_SIZE_BITS=\(info?["NUMBER(SECTION_SIZE_BITS)"] ?? "?"))")
        }
        let threadCount = threads(of: attempt)
        let selection = PageSelector.select(core, level: level, threads: threadCount)
        metadata.dumpLevelApplied = selection.level.applied
        metadata.excludedByCategory = PageClassifier.Category.allCases.map { ("\($0)", selection.count($0)) }
        for warning in selection.warnings {
            log("warning: " + warning)
            metadata.warnings.append(warning)
        }
        if level.needsPageWalk {
            let excluded = selection.excluded.reduce(0, +)
            log(
                "dump level \(selection.level.applied): \(excluded) of \(selection.present.population) pages left out "
                    + "by struct page ("
                    + PageClassifier.Category.allCases.map { "\($0): \(selection.count($0))" }
                    .joined(separator: ", ")
                    + ") in \((CaptureClock.monotonicNanoseconds() - walkStart) / 1_000_000) ms")
        }
        let fileName = options.uploader == nil ? attempt.format.fileName : attempt.format.streamedFileName
        step("writing \(fileName) at dump level \(selection.level.applied)")
        var statistics = WriteStatistics()
        func write(to output: some DumpOutput) throws {
            switch attempt.format {
            case .elf:
                try ELFCoreWriter(windowSize: options.windowSize, layout: options.elfLayout).write(
                    core, to: output, excludeZeroPages: selection.level.excludesZeroPages,
                    keep: selection.level.needsPageWalk ? selection.kept : nil, statistics: &statistics)
            case .kdump:
                let writer = KdumpWriter(compression: options.compression, threads: threadCount)
                let threads = writer.threads == 1 ? "1 thread" : "\(writer.threads) threads"
                log("writing kdump-compressed (\(options.compression.rawValue)) with \(threads)")
                // A stream only moves forward: the page table, written after its pages, goes in flattened form.
                let flattened = output.isStream ? try FlattenedOutput(stream: output) : nil
                let destination: any DumpOutput = flattened ?? output
                try writer.write(
                    core, selection: selection, excludeZeroPages: selection.level.excludesZeroPages,
                    to: destination, statistics: &statistics)
                try flattened?.finish()
            }
        }
        do {
            if let uploader = options.uploader {
                let stream = try uploader.stream(fileName)
                do { try write(to: stream) } catch {
                    stream.abandon()  // no end mark: the helper aborts the upload
                    throw error
                }
                let stored = try stream.finish()
                log("sent \(fileName) (\(stored.size) bytes, SHA-256 \(stored.sha256))")
                // The manifest is made by the capture's PID 1, which did not see this step.
                try directory.replaceFile(CaptureUploader.storedRecord(fileName), Array(stored.manifestLine.utf8))
            } else {
                let file = try directory.createFile(fileName)
                defer { try? file.close() }
                if attempt.format == .elf && options.directWrites {
                    // An ELF file's data are whole pages at page-aligned offsets: written past the page cache.
                    let output = DirectFileOutput(file)
                    try write(to: output)
                    statistics.writeMethod = output.writeMethod
                } else {
                    try write(to: file)
                }
            }
        } catch {
            metadata.statistics = statistics
            throw error
        }
        metadata.statistics = statistics
        log(
            "saved \(statistics.writtenPages) of \(statistics.totalPages) pages "
                + "(\(statistics.excludedZeroPages) zero pages, \(statistics.excludedFilteredPages) "
                + "filtered pages left out"
                + (statistics.duplicatePages > 0
                    ? "; \(statistics.duplicatePages) point at an earlier page with the same bytes" : "")
                + ") to "
                + (options.uploader == nil ? directory.path(fileName) : "the network as \(fileName)")
                + (statistics.writeMethod.map { ", written \($0)" } ?? ""))
    }
}
