import DumpFormat
import RemoteStorage
import SystemCalls
import Testing

@testable import Upload

/// The pieces of recording the dumps the capture kernel sent: which names in the bucket are dumps, and what a
/// manifest read back lists (a manifest is input from the network: a bad one is an error naming it).
@Suite struct NetworkCaptureRecordsTests {
    @Test func theManifestTheCaptureWritesReadsBackFileByFile() throws {
        let sha = String(repeating: "ab", count: 32)
        let bytes = Manifest(
            machineID: "5e1f0c0ffee000000000000000000042", dumpID: "20261204T170000Z-0a1b2c3d",
            files: [
                .init(name: "dmesg.txt", size: 12, sha256: sha), .init(name: "vmcore", size: 143_000_000, sha256: sha),
            ]
        ).encoded()
        let files = try NetworkCaptureRecords.manifestFiles(bytes, path: "rgw: m")
        #expect(files.map(\.name) == ["dmesg.txt", "vmcore"])
        #expect(files.map(\.size) == [12, 143_000_000])
        #expect(files.allSatisfy { $0.sha256 == sha })
    }

    @Test(arguments: [
        ("[]", "rgw: m: expected an object with a \"files\" array"),
        (
            "{\"files\": [{\"name\": \"../etc/passwd\", \"size\": 1, \"sha256\": \"\"}]}",
            "rgw: m: a file without a plain name, a size or a SHA-256"
        ),
        (
            "{\"files\": [{\"name\": \"vmcore\", \"size\": -1, \"sha256\": \"\(String(repeating: "0", count: 64))\"}]}",
            "rgw: m: a file without a plain name, a size or a SHA-256"
        ),
    ])
    func aManifestThatIsNotOneIsRefusedByName(text: String, message: String) {
        #expect(throws: DumpFileError.self) {
            try NetworkCaptureRecords.manifestFiles(Array(text.utf8), path: "rgw: m")
        }
        do { _ = try NetworkCaptureRecords.manifestFiles(Array(text.utf8), path: "rgw: m") } catch {
            #expect("\(error)".hasPrefix(message))
        }
    }

    @Test func onlyDumpNamesBecomeLocalDirectories() {
        #expect(NetworkCaptureRecords.isDumpID("20261204T170000Z-0a1b2c3d"))
        for name in ["", ".", "..", ".record-x", "a/b", "20261204T170000Z-0a1b2c3d.incomplete", "x y"] {
            #expect(!NetworkCaptureRecords.isDumpID(name), "\(name)")
        }
    }
}
