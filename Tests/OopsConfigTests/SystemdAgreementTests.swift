import Foundation
import Testing

@testable import OopsConfig

/// The order of files must be what systemd itself gives for a `*.conf.d` configuration:
/// `systemd-analyze --root=DIR cat-config oopsd/oopsd.conf` is the independent reference.
@Suite struct SystemdAgreementTests {
    func systemdOrder(_ tree: TestTree) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        process.arguments = ["--root=\(tree.path)", "cat-config", "oopsd/oopsd.conf"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return output.split(separator: "\n").filter { $0.hasPrefix("# \(tree.path)/") }
            .map { String($0.dropFirst(2 + tree.path.count)) }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func fileOrderMatchesSystemdAnalyze() throws {
        let tree = TestTree()
        tree.write("/usr/lib/oopsd/oopsd.conf", "[Capture]\n")
        tree.write("/run/oopsd/oopsd.conf", "[Capture]\n")
        tree.write("/usr/lib/oopsd/oopsd.conf.d/10-a.conf", "# lib\n")
        tree.write("/usr/local/lib/oopsd/oopsd.conf.d/10-a.conf", "# local\n")
        tree.write("/usr/lib/oopsd/oopsd.conf.d/90-z.conf", "# lib z\n")
        tree.write("/run/oopsd/oopsd.conf.d/05-b.conf", "# run\n")
        tree.write("/etc/oopsd/oopsd.conf.d/50-m.conf", "# etc\n")
        tree.write("/usr/local/lib/oopsd/oopsd.conf.d/50-m.conf", "# masked\n")
        tree.symlink("/etc/oopsd/oopsd.conf.d/90-z.conf", to: "/dev/null")
        var diagnostics: [ConfigDiagnostic] = []
        let ours = ConfigSources.files(root: tree.root, diagnostics: &diagnostics).map(\.path)
        #expect(diagnostics.isEmpty)
        #expect(
            ours == [
                "/run/oopsd/oopsd.conf", "/run/oopsd/oopsd.conf.d/05-b.conf",
                "/usr/local/lib/oopsd/oopsd.conf.d/10-a.conf", "/etc/oopsd/oopsd.conf.d/50-m.conf",
                "/etc/oopsd/oopsd.conf.d/90-z.conf",
            ])
        #expect(try systemdOrder(tree) == ours)
    }
}
