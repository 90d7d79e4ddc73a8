import ArgumentParser
import Collection
import DumpFormat
import FoundationEssentials
import OopsConfig
import SystemCalls
import Upload

/// `oopsctl upload [ID]`: ships dumps to the `[Upload.NAME]` targets now.
struct UploadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Ship dumps to the configured upload targets now.",
        discussion: """
            Without an ID, ships every dump not yet shipped to every [Upload.NAME] target; with an ID, that dump \
            (again, if needed). Uploads resume where an earlier attempt stopped. A dump counts as shipped to a \
            target once every file and then manifest.json are stored there. Shows a progress bar on a terminal.

            Exit status: 0 when every dump reached every target; 1 when a dump could not be shipped (the error is \
            printed and kept for 'oopsctl list'); 2 when the ID matches no dump or more than one.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: DumpCommandSupport.idHelp)
    var ids: [String] = []

    func run() throws {
        let root = global.hostRoot
        let merged = MergedConfiguration.load(root: root)
        for diagnostic in merged.diagnostics { printError("oopsctl: configuration: \(diagnostic)") }
        let configuration = OopsConfiguration(merged)
        if configuration.upload.targets.isEmpty {
            printError(
                "oopsctl: no upload target is configured; add an [Upload.NAME] section with URL= "
                    + "(see Config/examples/)")
            throw ExitCode(1)
        }
        let store = DumpStore(directory: root.path(configuration.capture.directory))
        var only: [DumpEntry]? = nil
        if !ids.isEmpty {
            try DumpCommandSupport.validateOneID(ids)
            only = [try DumpCommandSupport.run { try store.resolve(ids[0]) }]
        }
        let bar = ProgressBar(enabled: CurrentProcess.isTerminal(.standardError))
        let uploader = FleetUploader(
            root: root, configuration: configuration, environment: ProcessInfo.processInfo.environment,
            log: { level, message in
                bar.clear()
                if level == .error || level == .warning { printError("oopsctl: \(message)") } else { print(message) }
            },
            progress: { bar.show($0) })
        let round = uploader.ship(only: only)
        bar.clear()
        for shipped in round.shipped { print("\(shipped.dump): shipped to \(shipped.target)") }
        if !round.failed.isEmpty { throw ExitCode(1) }
    }
}

/// A one-line progress bar on standard error, redrawn at most 10 times a second.
final class ProgressBar: @unchecked Sendable {
    let enabled: Bool
    private var lastDraw = Date.distantPast
    private var started = Date()
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ progress: ShipProgress) {
        guard enabled, Date().timeIntervalSince(lastDraw) >= 0.1 || progress.sent == progress.total else { return }
        lastDraw = Date()
        let fraction = progress.total == 0 ? 1 : Double(progress.sent) / Double(progress.total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(progress.sent) / max(0.001, Date().timeIntervalSince(started))
        let line =
            "\(progress.target) \(progress.dumpID) [\(String(repeating: "#", count: filled))"
            + "\(String(repeating: "-", count: width - filled))] \(Int(fraction * 100))% "
            + "\(ByteCount.text(progress.sent))/\(ByteCount.text(progress.total)) \(ByteCount.text(UInt64(rate)))/s "
            + progress.file
        var stderr = StandardError()
        print("\r\u{1B}[K" + line, terminator: "", to: &stderr)
        drawn = true
    }

    func clear() {
        guard enabled, drawn else { return }
        var stderr = StandardError()
        print("\r\u{1B}[K", terminator: "", to: &stderr)
        drawn = false
    }
}
