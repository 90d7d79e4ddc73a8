import Collection
import DumpFormat
import Foundation
import SystemCalls
import TestSupport
import Testing
import VMCore

/// Kallsyms decoding and symbolization against the sysrq panics the VM harness saved (6.1 and 6.12).
@Suite(
    .enabled(if: RealDumps.enabled, "set OOPSD_VM_DUMPS to the VM harness dumps (Tests/VM/scenarios/report.sh does)"))
struct KallsymsRealDumpTests {
    @Test(arguments: RealDumps.kernels)
    func decodedTableAgreesWithVMCOREINFO(kernel: String) throws {
        let (vmcorePath, _) = try RealDumps.baseline(kernel)
        let core = try ELFCore.open(vmcorePath)
        defer { try? core.close() }
        let symbols = try Kallsyms.load(from: core)
        let info = try #require(core.vmcoreInfo)
        #expect(symbols.symbols.count > 50_000, "only \(symbols.symbols.count) symbols decoded")
        // Symbols VMCOREINFO names must decode to the same address (kallsyms_* themselves are not in the table).
        for name in ["_stext", "init_top_pgt", "prb", "printk_rb_static", "clear_seq", "init_uts_ns", "node_data"] {
            guard let expected = info.symbol(name) else {
                Issue.record("VMCOREINFO has no SYMBOL(\(name))")
                continue
            }
            #expect(
                symbols.address(of: name) == expected,
                "\(name): decoded \(symbols.address(of: name).map { String($0, radix: 16) } ?? "nil"), VMCOREINFO says \(String(expected, radix: 16))"
            )
        }
        let text = try #require(symbols.address(of: "sysrq_handle_crash"))
        #expect(symbols.symbolize(text)?.name == "sysrq_handle_crash")
        #expect(symbols.symbolize(text)?.offset == 0)
        #expect(symbols.isKernelText(text))
    }

    @Test(arguments: RealDumps.kernels)
    func stackScanReproducesTheKernelsCallTrace(kernel: String) throws {
        let (vmcorePath, dmesgPath) = try RealDumps.baseline(kernel)
        let log = KernelLogAnalysis(log: try String(contentsOfFile: dmesgPath, encoding: .utf8))
        let reliable = log.callTrace.filter(\.reliable)
        #expect(
            reliable.map(\.function).contains("sysrq_handle_crash"),
            "the log's call trace: \(log.callTrace.map(\.text))")

        let core = try ELFCore.open(vmcorePath)
        defer { try? core.close() }
        let symbols = try Kallsyms.load(from: core)
        let cpus = core.cpus
        let cpu = try #require(
            cpus.firstIndex { Int($0.pid) == log.pid }, "no NT_PRSTATUS with the log's PID \(log.pid ?? -1)")
        let scan = try StackScan(core: core, symbols: symbols, stackPointer: cpus[cpu][.rsp])
        let scanned = Set(scan.entries.map(\.symbol))
        // Every frame the kernel printed below panic() was on this stack: our symbolization must print it identically.
        let belowPanic = reliable.drop { $0.function != "sysrq_handle_crash" }
        #expect(belowPanic.count >= 3)
        for frame in belowPanic {
            #expect(
                scanned.contains(frame.text),
                "\(frame.text) from the log is not in our stack scan: \(scan.entries.map(\.symbol))")
        }
        // The RIP of the crashing CPU is inside the kernel's crash path.
        let rip = try #require(symbols.symbolize(cpus[cpu][.rip]))
        #expect(symbols.isKernelText(cpus[cpu][.rip]), "RIP \(rip)")
    }

    /// The same crash read from a kdump-compressed copy (level 31, zstd, as `Format=kdump` writes it): its notes
    /// give the registers, its pages (through phys_base and the page tables) the symbols, the log and the stack.
    @Test(arguments: RealDumps.kernels)
    func kdumpCopyReadsLikeTheELFVmcore(kernel: String) throws {
        let (vmcorePath, dmesgPath) = try RealDumps.baseline(kernel)
        let core = try ELFCore.open(vmcorePath)
        defer { try? core.close() }
        let directory = try TemporaryDirectory("collection")
        let path = "\(directory.path)/vmcore.kdump"
        let output = try FileDescriptor.open(path, [.readWrite, .create, .exclusive], mode: 0o600)
        let selection = PageSelector.select(core, level: DumpLevel(31)!)
        var statistics = WriteStatistics()
        try KdumpWriter(compression: .zstd).write(
            core, selection: selection, excludeZeroPages: true, to: output,
            statistics: &statistics)
        try output.close()
        let kdump = try KdumpReader.open(path)
        defer { try? kdump.close() }

        #expect(kdump.cpus == core.cpus)
        #expect(try PrintkRing.records(of: kdump) == PrintkRing.records(of: core))
        let fromELF = try Kallsyms.load(from: core)
        let fromKdump = try Kallsyms.load(from: kdump)
        #expect(fromKdump.symbols.count == fromELF.symbols.count)
        #expect(fromKdump.symbols == fromELF.symbols)
        let pid = try #require(KernelLogAnalysis(log: try String(contentsOfFile: dmesgPath, encoding: .utf8)).pid)
        let cpu = try #require(core.cpus.firstIndex { Int($0.pid) == pid })
        let stackPointer = core.cpus[cpu][.rsp]
        let scanned = try StackScan(core: kdump, symbols: fromKdump, stackPointer: stackPointer)
        #expect(scanned == (try StackScan(core: core, symbols: fromELF, stackPointer: stackPointer)))
        #expect(scanned.entries.map(\.function).contains("sysrq_handle_crash"))
    }

    @Test(arguments: RealDumps.kernels)
    func reportOfARealDump(kernel: String) throws {
        let (vmcorePath, dmesgPath) = try RealDumps.baseline(kernel)
        let directory = try TemporaryDirectory("collection")
        let dump = "\(directory.path)/20250101T000000Z-\(kernel)"
        try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true)
        try FileManager.default.linkItem(atPath: vmcorePath, toPath: "\(dump)/vmcore")
        try FileManager.default.copyItem(atPath: dmesgPath, toPath: "\(dump)/dmesg.txt")
        try Data(#"{"status":"complete","crash_time":1735689600}"#.utf8).write(
            to: URL(fileURLWithPath: "\(dump)/metadata.json"))

        let start = ContinuousClock.now
        let entry = try DumpStore(directory: directory.path).resolve("-1")
        let report = ReportBuilder.build(entry)
        let elapsed = ContinuousClock.now - start
        print("report of the \(kernel) baseline dump built in \(elapsed)")
        #expect(report.notes.isEmpty, "\(report.notes)")
        #expect(report.panicLine == "Kernel panic - not syncing: sysrq triggered crash")
        #expect(report.signatureFrames.first == "sysrq_handle_crash", "\(report.signatureFrames)")
        #expect(report.stackScan.contains { $0.symbol.hasPrefix("sysrq_handle_crash+") })
        #expect(report.kernelRelease?.hasPrefix(kernel + ".") == true, "\(report.kernelRelease ?? "nil")")
        #expect(report.complete)
        #expect(report.crashTimeUTC == "2025-01-01 00:00:00 UTC")
        #expect(report.registers?.count == 27)
    }
}
