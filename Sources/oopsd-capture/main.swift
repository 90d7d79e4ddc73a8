import CCaptureInit
import Capture
import VMCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes `text` and a newline to standard error.
func printError(_ text: String) {
    let line = Array((text + "\n").utf8)
    // Sound because write(2) reads at most the borrowed line's count bytes.
    unsafe line.withUnsafeBytes { raw in _ = unsafe write(2, raw.baseAddress, raw.count) }
}

let arguments = Array(CommandLine.arguments.dropFirst())
// As /init of the capture initramfs: the kernel starts it as PID 1 with no arguments.
if getpid() == 1 {
    if oops_capture_early_proc_status() < 0 { printError("oopsd-capture: could not mount /proc early") }
    CaptureKernelRun().run()
}
do {
    switch try CaptureArguments.parse(arguments) {
    case .help:
        print(CaptureArguments.usage)
        exit(0)
    case .version:
        print("oopsd-capture: " + PageCompressor.libraryVersions)
        exit(0)
    case .offline(let options):
        let outcome = DumpSaver(options: options) { printError("oopsd-capture: " + $0) }.run()
        exit(outcome.isComplete ? 0 : 1)
    }
} catch {
    printError("oopsd-capture: \(error.message)\n\n" + CaptureArguments.usage)
    exit(2)
}
