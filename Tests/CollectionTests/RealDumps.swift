import Foundation
import Testing

/// Where the VM harness keeps its dumps. Real-dump tests run when `OOPSD_VM_DUMPS` is set (the harness scenario
/// `Tests/VM/scenarios/report.sh` sets it); then a missing dump is a failure, never a silent pass.
enum RealDumps {
    static let environmentVariable = "OOPSD_VM_DUMPS"

    /// The dumps directory, when the real-dump tests are asked for.
    static var directory: String? {
        ProcessInfo.processInfo.environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Kernel tags to check (`OOPSD_VM_KERNELS`, default `6.1 6.12`).
    static var kernels: [String] {
        (ProcessInfo.processInfo.environment["OOPSD_VM_KERNELS"] ?? "6.1 6.12").split(separator: " ").map(String.init)
    }

    static var enabled: Bool { directory != nil }

    /// The baseline dump of kernel `tag` (a sysrq panic): its vmcore and vmcore-dmesg.txt, or a failure saying how to make it.
    static func baseline(_ tag: String) throws -> (vmcore: String, dmesg: String) {
        let base = "\(directory!)/\(tag)/baseline"
        let vmcore = "\(base)/vmcore"
        let dmesg = "\(base)/vmcore-dmesg.txt"
        guard FileManager.default.fileExists(atPath: vmcore), FileManager.default.fileExists(atPath: dmesg) else {
            Issue.record(
                "no baseline dump for kernel \(tag) at \(base) (need vmcore and vmcore-dmesg.txt): run `Tests/VM/run --kernel \(tag) baseline` first"
            )
            throw CancellationError()
        }
        return (vmcore, dmesg)
    }
}
