// oopsd: the crash-dump service. Wiring only: the work is in OopsService.
import KernelInterfaces
import OopsService
import SystemCalls

let launchedAt = MonotonicClock.microseconds
let usage = """
    usage: oopsd [--root DIR] [--capture-binary PATH]

    Arms the capture kernel (kexec_file_load with a capture initramfs oopsd builds itself),
    re-arms when the configuration, the kernel or its modules change, and disarms when stopped.
    Meant to run under systemd (oopsd.service, Type=notify); SIGHUP reloads the configuration.

      --root DIR             resolve every absolute path under DIR (also $OOPSD_ROOT)
      --capture-binary PATH  the oopsd-capture executable to put in the initramfs
                             (default: next to oopsd, else /usr/libexec/oopsd/oopsd-capture)
    """

func fail(_ message: String, status: Int32 = 2) -> Never {
    try? FileDescriptor.standardError.writeAll(Array("oopsd: \(message)\n".utf8))
    CurrentProcess.exit(status)
}

var rootFlag: String? = nil
var captureFlag: String? = nil
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--root":
        guard let value = arguments.next() else { fail("--root needs a directory") }
        rootFlag = value
    case "--capture-binary":
        guard let value = arguments.next() else { fail("--capture-binary needs a path") }
        captureFlag = value
    case "-h", "--help":
        print(usage)
        CurrentProcess.exit(0)
    default: fail("unknown argument \(argument)\n\(usage)")
    }
}

let root = HostRoot.resolve(flag: rootFlag)
let release: String
do { release = try KernelRelease.current() } catch { fail("cannot read the kernel release: \(error)", status: 1) }
let captureBinary = captureFlag ?? CaptureBinaryLocator.locate(root: root)
let arming = KexecArming(root: root, captureBinary: captureBinary, runningRelease: release)
CurrentProcess.exit(OopsDaemon(root: root, arming: arming, launchedAt: launchedAt).run())
