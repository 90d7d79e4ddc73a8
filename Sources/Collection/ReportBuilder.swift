import DumpFormat
import FoundationEssentials
import SystemCalls
import VMCore

/// Turns a dump directory into a `Report`: the kernel's log text, the vmcore's registers and kallsyms, the metadata.
public enum ReportBuilder {
    /// Builds the report of `entry`. Never throws for a damaged dump: what cannot be read becomes a note.
    /// With `readVMCore` false only the log and metadata are read (fast, for listings): no registers or stack scan.
    public static func build(_ entry: DumpEntry, readVMCore: Bool = true) -> Report {
        var notes: [String] = []
        if let problem = entry.metadataProblem { notes.append(problem) }
        if entry.metadata == nil && entry.metadataProblem == nil { notes.append("no metadata.json in the dump") }

        var core: (any KernelMemory)?
        if !readVMCore {
            notes.append("the vmcore was not read")
        } else if let memory = entry.memoryFile {
            let isKdump = memory.hasSuffix("/" + DumpLayout.kdump)
            do {
                core = isKdump ? try KdumpReader.open(memory) : try ELFCore.open(memory)
            } catch {
                notes.append("\(isKdump ? DumpLayout.kdump : DumpLayout.vmcore): \(error)")
            }
        } else {
            notes.append("no vmcore in the dump")
        }
        defer { try? core?.close() }

        // The log: dmesg.txt, else decoded from the vmcore.
        var log: String?
        let dmesgPath = entry.file(DumpLayout.dmesg)
        if FileSystem.exists(dmesgPath) {
            do {
                log = String(decoding: try FileSystem.readRegularFile(dmesgPath), as: UTF8.self)
            } catch {
                notes.append("dmesg.txt not read: \(error)")
            }
        } else if let core {
            do {
                log = String(decoding: DmesgFormat.text(try PrintkRing.records(of: core)), as: UTF8.self)
                notes.append("no dmesg.txt; the log was decoded from the vmcore")
            } catch {
                notes.append("no dmesg.txt, and the log could not be decoded from the vmcore: \(error)")
            }
        } else {
            notes.append("no dmesg.txt in the dump")
        }
        let analysis = log.map { KernelLogAnalysis(log: $0) }

        var symbols: Kallsyms?
        if let core {
            do { symbols = try Kallsyms.load(from: core) } catch { notes.append("kallsyms: \(error)") }
        }

        let crashTime = entry.metadata?.crashTime ?? core?.vmcoreInfo?.crashTime
        var report = Report(
            id: entry.id, path: entry.path, complete: entry.isComplete,
            incompleteReason: entry.metadata?.incompleteReason
                ?? (entry.isComplete ? nil : entry.metadata == nil ? "no metadata.json" : nil),
            sizeBytes: entry.apparentBytes, diskBytes: entry.allocatedBytes,
            kernelRelease: entry.metadata?.kernelRelease ?? core?.vmcoreInfo?.osRelease,
            buildID: entry.metadata?.buildID ?? core?.vmcoreInfo?.buildID,
            crashTime: crashTime, crashTimeUTC: crashTime.map(utcText),
            uptimeSeconds: analysis?.uptimeAtCrash,
            problemLine: analysis?.problemLine, panicLine: analysis?.panicLine ?? entry.metadata?.panicLine,
            task: analysis.flatMap { $0.pid == nil ? nil : Report.Task(pid: $0.pid, command: $0.command, cpu: $0.cpu) },
            taintLetters: analysis?.taintLetters, taint: analysis?.taintLetters.map(TaintFlags.decode(letters:)),
            modules: analysis?.modules, registersCPU: nil, registers: nil, rip: nil,
            ripFromLog: analysis?.ripFrame?.text, callTrace: analysis?.callTrace ?? [], stackScan: [],
            breadcrumb: entry.metadata?.breadcrumb?.textFields, signature: "", signatureFrames: [],
            symbolCount: symbols?.symbols.count ?? 0, notes: [],
            dumpLevelRequested: entry.metadata?.dumpLevelRequested, dumpLevelApplied: entry.metadata?.dumpLevelApplied,
            captureWarnings: entry.metadata.map(\.warnings))

        var scanned: [StackScan.Entry] = []
        if let core, !core.cpus.isEmpty {
            let cpu = crashingCPU(core.cpus, pid: analysis?.pid, cpu: analysis?.cpu)
            let status = core.cpus[cpu]
            report.registersCPU = cpu
            report.registers = PRStatus.RegisterName.allCases.map {
                Report.Register(name: registerName($0), value: hex16(status[$0]))
            }
            if let symbols {
                report.rip = symbols.symbolize(status[.rip])?.description ?? hex16(status[.rip])
                do {
                    scanned = try StackScan(core: core, symbols: symbols, stackPointer: status[.rsp]).entries
                    report.stackScan = scanned.map {
                        Report.StackFrame(
                            stackAddress: hex16($0.stackAddress), address: hex16($0.address), symbol: $0.symbol)
                    }
                } catch {
                    notes.append("stack scan from RSP \(hex16(status[.rsp])): \(error)")
                }
            }
        } else if core != nil {
            notes.append("the vmcore has no NT_PRSTATUS notes: no registers")
        }

        var functions: [String] = []
        if let rip = analysis?.ripFrame { functions.append(rip.function) }
        functions += (analysis?.callTrace ?? []).filter(\.reliable).map(\.function)
        if functions.isEmpty { functions = scanned.map(\.function) }
        let signature = CrashSignature(functions: functions, fallback: report.problemLine ?? report.panicLine)
        report.signature = signature.hash
        report.signatureFrames = signature.frames
        report.notes = notes
        return report
    }

    /// The CPU that crashed: the NT_PRSTATUS whose pid is the log's `PID:` (the log's `CPU:` breaks ties), else the
    /// log's CPU, else the first.
    static func crashingCPU(_ cpus: [PRStatus], pid: Int?, cpu: Int?) -> Int {
        if let pid {
            let matching = cpus.indices.filter { Int(cpus[$0].pid) == pid }
            if matching.count == 1 { return matching[0] }
            if let cpu, matching.contains(cpu) { return cpu }
            if let first = matching.first { return first }
        }
        if let cpu, cpus.indices.contains(cpu) { return cpu }
        return 0
    }

    static func registerName(_ register: PRStatus.RegisterName) -> String {
        switch register {
        case .origRax: "orig_rax"
        case .fsBase: "fs_base"
        case .gsBase: "gs_base"
        default: "\(register)"
        }
    }

    /// `0x` and 16 hex digits.
    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// `2025-01-31 12:00:00 UTC`.
    public static func utcText(_ seconds: Int64) -> String { UTCTime.text(seconds) }
}
