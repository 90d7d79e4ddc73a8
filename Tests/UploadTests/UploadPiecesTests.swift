import Collection
import Foundation
import SystemCalls
import TestSupport
import Testing

@testable import Upload

/// Shipping order and file digests: the pieces a fleet relies on without a server.
@Suite struct UploadPiecesTests {
    @Test func smallMostUsefulFilesShipFirstThenBySize() throws {
        let scratch = try TemporaryDirectory("upload")
        let directory = scratch.path
        let files = [
            "vmcore": 5000, "report.txt": 300, "report.json": 900, "capture.log": 200, "metadata.json": 100,
            "dmesg.txt": 700, "upload-state.json": 10, "manifest.json": 10, ".upload/rgw.json": 10,
        ]
        try FileManager.default.createDirectory(atPath: directory + "/.upload", withIntermediateDirectories: true)
        for (name, size) in files {
            try Data(count: size).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        let entry = try #require(
            try DumpStore(directory: NSString(string: directory).deletingLastPathComponent).list()
                .first { $0.path == directory })
        #expect(
            try DumpShipper.plan(entry).map(\.name)
                == ["dmesg.txt", "metadata.json", "report.json", "capture.log", "report.txt", "vmcore"])
    }

    @Test func fileDigestMatchesTheKnownAnswerForAFileLargerThanOneChunk() throws {
        let scratch = try TemporaryDirectory("upload")
        let directory = scratch.path
        // 5 MiB of "a": larger than the 4 MiB read size, so the chunks must join correctly.
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 5 << 20)
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/f"))
        #expect(try FileDigest.sha256(path: directory + "/f") == FileDigest.sha256(bytes))
        #expect(FileDigest.sha256([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
