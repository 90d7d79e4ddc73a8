import Foundation
import Testing

@testable import OopsConfig

/// The configuration files in `Config/` are what operators copy: they must parse cleanly.
@Suite struct ShippedFilesTests {
    static let configDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Config")

    @Test func defaultsFileIsUpToDateWithTheKeyTable() throws {
        let shipped = try String(contentsOf: Self.configDirectory.appendingPathComponent("oopsd.conf"), encoding: .utf8)
        #expect(
            shipped == ConfigRendering.defaultsFile(),
            "regenerate with: swift run oopsctl config --defaults > Config/oopsd.conf")
    }

    @Test func defaultsFileMentionsEveryKey() {
        let text = ConfigRendering.defaultsFile()
        for key in ConfigKeys.all { #expect(text.contains("#\(key.name)=\(key.defaultText)\n")) }
    }

    @Test func examplesParseWithoutProblems() throws {
        let examples = try FileManager.default.contentsOfDirectory(
            at: Self.configDirectory.appendingPathComponent("examples"), includingPropertiesForKeys: nil)
        #expect(examples.count >= 2)
        for file in examples where file.pathExtension == "conf" {
            var merged = MergedConfiguration()
            merged.apply(text: try String(contentsOf: file, encoding: .utf8), file: file.lastPathComponent)
            #expect(merged.diagnostics.isEmpty, "\(file.lastPathComponent): \(merged.diagnostics)")
        }
    }
}
