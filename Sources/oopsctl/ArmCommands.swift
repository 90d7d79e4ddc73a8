import ArgumentParser
import KernelInterfaces
import OopsConfig
import OopsService
import SystemCalls

/// `oopsctl arm`: build the capture initramfs and load the capture kernel now.
struct ArmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arm",
        abstract: "Load the capture kernel now, with the current configuration.",
        discussion:
            "Refuses a configuration with errors (the service keeps the last good one armed). Exit status: 0 armed, 1 not."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The oopsd-capture executable to put in the initramfs.", valueName: "path"))
    var captureBinary: String?

    func run() throws {
        let root = global.hostRoot
        let merged = MergedConfiguration.load(root: root)
        for diagnostic in merged.diagnostics { printError(diagnostic.description) }
        guard merged.isValid else {
            printError("oopsctl arm: the configuration has errors; nothing was changed")
            throw ExitCode(1)
        }
        let arming = KexecArming(
            root: root, captureBinary: captureBinary ?? CaptureBinaryLocator.locate(root: root),
            runningRelease: try KernelRelease.current())
        do {
            let configuration = OopsConfiguration(merged)
            let outcome = try arming.arm(configuration)
            var status = (try? ServiceStatus.read(root: root)) ?? ServiceStatus(armed: true, message: "")
            status.record(outcome)
            status.configErrors = []
            status.message =
                "armed by oopsctl: \(outcome.kernelRelease), "
                + outcome.destination(networkTarget: configuration.capture.target)
            try? status.write(root: root)
            print(outcome.loaded ? "armed: " : "already armed, unchanged: ", terminator: "")
            print(
                "\(outcome.kernelImage) with \(outcome.image.path) (\(outcome.image.bytes) bytes, \(outcome.image.reused ? "cached" : "built"))"
            )
            print("command line: \(outcome.commandLine)")
        } catch {
            printError("oopsctl arm: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `oopsctl disarm`: unload the capture kernel.
struct DisarmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disarm", abstract: "Unload the capture kernel (a running service re-arms on its next change).")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let root = global.hostRoot
        let arming = KexecArming(root: root, captureBinary: CaptureBinaryLocator.installed, runningRelease: "")
        do {
            try arming.disarm()
            var status = (try? ServiceStatus.read(root: root)) ?? ServiceStatus(armed: false, message: "")
            status.armed = false
            status.message = "disarmed by oopsctl"
            try? status.write(root: root)
            print("disarmed")
        } catch {
            printError("oopsctl disarm: \(error)")
            throw ExitCode(1)
        }
    }
}
