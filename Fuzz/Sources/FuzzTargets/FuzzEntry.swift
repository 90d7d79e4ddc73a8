import CLibFuzzer

#if canImport(Glibc)
import Glibc
#endif

/// What every fuzz executable does before libFuzzer's loop (`LLVMFuzzerInitialize`): with `OOPSD_FUZZ_SEEDS_TO`
/// set, write the target's seed corpus there and exit. `OOPSD_FUZZ_VMCORES` and `OOPSD_FUZZ_SEED_FILES` are
/// colon-separated paths (real vmcores; files to copy as seeds).
public enum FuzzEntry {
    public static func initialize(target: String) {
        guard let directory = getenv("OOPSD_FUZZ_SEEDS_TO").map({ String(cString: $0) }) else { return }
        func paths(_ name: String) -> [String] {
            (getenv(name).map { String(cString: $0) } ?? "").split(separator: ":").map(String.init)
        }
        FuzzSeeds.write(
            target: target, to: directory, vmcores: paths("OOPSD_FUZZ_VMCORES"),
            files: paths("OOPSD_FUZZ_SEED_FILES"))
        exit(0)
    }

    /// Runs libFuzzer's driver on the command line with `callback` (the target's `LLVMFuzzerTestOneInput`), after
    /// `initialize(target:)`; exits with the driver's status.
    public static func run(target: String, _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
        initialize(target: target)
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
    }

    /// The input as an array (the targets index it freely; copying a few KiB costs nothing next to the work).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}
