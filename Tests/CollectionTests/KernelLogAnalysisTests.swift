import Collection
import Foundation
import Testing

@Suite struct KernelLogAnalysisTests {
    /// A 6.1-style NULL-pointer oops followed by the panic (panic_on_oops).
    static let oopsLog = """
        [   10.000000] oopsd: loaded
        [   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000008
        [   12.345700] #PF: supervisor write access in kernel mode
        [   12.345800] Oops: 0002 [#1] PREEMPT SMP NOPTI
        [   12.345900] CPU: 1 PID: 233 Comm: insmod Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.140-1
        [   12.346000] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
        [   12.346100] RIP: 0010:crashme_init+0x12/0x30 [crashme]
        [   12.346200] Code: 00 00 <c7> 04 25 08 00 00 00 00 00 00 00
        [   12.346300] Call Trace:
        [   12.346400]  <TASK>
        [   12.346500]  ? __die+0x23/0x70
        [   12.346600]  do_one_initcall+0x44/0x220
        [   12.346700]  ? kmalloc_trace+0x26/0x90
        [   12.346800]  do_init_module.isra.0+0x4c/0x210
        [   12.346900]  __do_sys_finit_module+0xb2/0x120
        [   12.347000]  do_syscall_64+0x5d/0xb0
        [   12.347100]  </TASK>
        [   12.347200] Modules linked in: crashme(OE+) virtio_blk virtio_pci
        [   12.347300] CR2: 0000000000000008
        [   12.347400] ---[ end trace 0000000000000000 ]---
        [   12.347500] RIP: 0010:other+0x1/0x2
        [   12.347600] Kernel panic - not syncing: Fatal exception
        """

    @Test func oopsReport() {
        let log = KernelLogAnalysis(log: Self.oopsLog)
        #expect(log.problemLine == "BUG: kernel NULL pointer dereference, address: 0000000000000008")
        #expect(log.panicLine == "Kernel panic - not syncing: Fatal exception")
        #expect(log.uptimeAtCrash == 12.345678)
        #expect(log.cpu == 1)
        #expect(log.pid == 233)
        #expect(log.command == "insmod")
        #expect(log.taintLetters == "GOE")
        #expect(log.ripFrame?.text == "crashme_init+0x12/0x30 [crashme]")
        #expect(
            log.callTrace.map(\.text) == [
                "__die+0x23/0x70", "do_one_initcall+0x44/0x220", "kmalloc_trace+0x26/0x90",
                "do_init_module.isra.0+0x4c/0x210", "__do_sys_finit_module+0xb2/0x120", "do_syscall_64+0x5d/0xb0",
            ])
        #expect(log.callTrace.map(\.reliable) == [false, true, false, true, true, true])
        #expect(log.modules == ["crashme(OE+)", "virtio_blk", "virtio_pci"])
    }

    @Test func sysrqPanicOn612Header() {
        let log = KernelLogAnalysis(
            log: """
                [   30.100000] sysrq: Trigger a crash
                [   30.100100] Kernel panic - not syncing: sysrq triggered crash
                [   30.100200] CPU: 0 UID: 0 PID: 97 Comm: sh Not tainted 6.12.38+deb12-amd64 #1  Debian 6.12.38-1~bpo12+1
                [   30.100300] Call Trace:
                [   30.100400]  <TASK>
                [   30.100500]  dump_stack_lvl+0x5d/0x80
                [   30.100600]  panic+0x118/0x2f4
                [   30.100700]  sysrq_handle_crash+0x1a/0x20
                [   30.100800]  </TASK>
                [   30.100900] Kernel Offset: 0x2ba00000 from 0xffffffff81000000
                """)
        #expect(log.problemLine == nil)
        #expect(log.uptimeAtCrash == 30.1001)
        #expect(log.pid == 97)
        #expect(log.cpu == 0)
        #expect(log.command == "sh")
        #expect(log.taintLetters == "")
        #expect(log.ripFrame == nil)
        #expect(log.callTrace.map(\.function) == ["dump_stack_lvl", "panic", "sysrq_handle_crash"])
        #expect(log.modules == nil)
    }

    @Test func emptyLogHasNothing() {
        let log = KernelLogAnalysis(log: "[    0.000000] Linux version 6.1.0\n")
        #expect(log.problemLine == nil && log.panicLine == nil && log.uptimeAtCrash == nil && log.callTrace.isEmpty)
    }
}

@Suite struct CrashSignatureTests {
    @Test func skipsReportingHelpersAndSuffixes() {
        let signature = CrashSignature(
            functions: [
                "dump_stack_lvl", "panic", "sysrq_handle_crash", "__handle_sysrq.cold", "__handle_sysrq",
                "write_sysrq_trigger", "proc_reg_write", "vfs_write", "ksys_write",
            ],
            fallback: nil)
        #expect(
            signature.frames == [
                "sysrq_handle_crash", "__handle_sysrq", "write_sysrq_trigger", "proc_reg_write", "vfs_write",
            ])
        // SHA-256 of the frames joined by "\n" (sha256sum of printf 'sysrq_handle_crash\n__handle_sysrq\n...').
        #expect(signature.hash == "5648324a46867fbfb05e3f1c8d91ec9fb3d2d3c4b6db406acd280b4d67f661f6")
    }

    @Test func sameBugSameSignatureAcrossOffsetsAndBuilds() {
        let a = KernelLogAnalysis(log: KernelLogAnalysisTests.oopsLog)
        let b = KernelLogAnalysis(
            log: KernelLogAnalysisTests.oopsLog
                .replacingOccurrences(of: "+0x44/0x220", with: "+0x48/0x230")
                .replacingOccurrences(of: "isra.0", with: "isra.1"))
        func functions(_ log: KernelLogAnalysis) -> [String] {
            [log.ripFrame!.function] + log.callTrace.filter(\.reliable).map(\.function)
        }
        let first = CrashSignature(functions: functions(a), fallback: nil)
        #expect(
            first.frames == [
                "crashme_init", "do_one_initcall", "do_init_module", "__do_sys_finit_module", "do_syscall_64",
            ])
        #expect(first == CrashSignature(functions: functions(b), fallback: nil))
        #expect(first != CrashSignature(functions: ["other_bug"] + functions(a).dropFirst(), fallback: nil))
    }

    @Test func fallbackMasksNumbers() {
        let signature = CrashSignature(
            functions: ["panic"], fallback: "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b")
        #expect(signature.frames == ["Kernel panic - not syncing: Attempted to kill init! exitcode=N"])
    }
}

@Suite struct TaintFlagsTests {
    @Test func lettersDecode() {
        #expect(TaintFlags.decode(letters: "GOE").map(\.name) == ["OOT_MODULE", "UNSIGNED_MODULE"])
        #expect(TaintFlags.decode(letters: "PD").map(\.bit) == [0, 7])
        #expect(TaintFlags.decode(letters: "Z").map(\.name) == ["UNKNOWN"])
        #expect(TaintFlags.decode(mask: 1 << 7 | 1 << 9).map(\.letter) == ["D", "W"])
    }
}
