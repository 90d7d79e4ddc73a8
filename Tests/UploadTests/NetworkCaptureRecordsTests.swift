import DumpFormat
import OopsConfig
import RemoteStorage
import SystemCalls
import TestSupport
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

/// A target in memory, listed as SFTP lists it: the directory, then each subdirectory the caller enters.
final class MemoryCaptureStore: CaptureStore {
    var stored: [String: [UInt8]] = [:]
    /// The subdirectories listed, in order.
    var entered: [String] = []

    func files(below directory: String, entering enter: (String) -> Bool) throws(UploadError) -> [StoredFile] {
        let prefix = directory + "/"
        let below = stored.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        var files: [StoredFile] = []
        for name in Set(below.compactMap { $0.split(separator: "/").first.map(String.init) }).sorted() where enter(name)
        {
            entered.append(name)
            files += below.filter { $0.hasPrefix(name + "/") }.map { StoredFile(path: $0) }
        }
        return files
    }

    func read(_ path: String, limit: Int) throws(UploadError) -> [UInt8] {
        guard let bytes = stored[path] else {
            throw .transport(target: "dropbox", url: url(of: path), message: "No such file or directory")
        }
        guard bytes.count <= limit else {
            throw .protocolViolation(target: "dropbox", url: url(of: path), message: "larger than \(limit) bytes")
        }
        return bytes
    }

    func write(_ path: String, _ bytes: [UInt8]) throws(UploadError) { stored[path] = bytes }

    func url(of path: String) -> String { "sftp://root@10.0.2.2:2222/srv/dumps/" + path }
}

/// The next boot's record of the dumps the capture kernel sent to the network, over a target in memory: the one
/// place that decides "a dump of this machine, whole (manifest), not collected (no report)", for S3 and SFTP alike.
@Suite struct NetworkCaptureRecordLogicTests {
    let machine = "5e1f0c0ffee000000000000000000043"
    let id = "20261205T001500Z-0a1b2c3d"
    let scratch: TemporaryDirectory
    let records: NetworkCaptureRecords
    let remote: NetworkCaptureRecords.Remote
    let store = MemoryCaptureStore()
    final class Lines { var all: [String] = [] }
    let lines = Lines()

    init() throws {
        scratch = try TemporaryDirectory("netrecord")
        var merged = MergedConfiguration()
        let url = "sftp://root@10.0.2.2:2222/srv/dumps"
        merged.apply(
            text:
                "[Capture]\nTarget=\(url)\n[Upload.dropbox]\nURL=\(url)\nKeyFile=/etc/oopsd/key\nHostKey=SHA256:abc\n",
            file: "/etc/oopsd/oopsd.conf.d/50-network.conf")
        let configuration = OopsConfiguration(merged)
        let target = try UploadTarget.check(configuration.upload.targets[0], root: scratch.root)
        let lines = self.lines
        records = NetworkCaptureRecords(
            root: scratch.root, configuration: configuration, environment: [:],
            log: { lines.all.append("\($0): \($1)") })
        remote = (target, store, machine)
    }

    var local: String { scratch.root.path(records.configuration.capture.directory) }

    /// Puts dump `id` in the store as the capture kernel sends it; `manifest` false leaves manifest.json out (cut
    /// short), `sizes` overrides what the manifest says of a file.
    func send(_ id: String, manifest: Bool = true, sizes: [String: UInt64] = [:]) {
        let files: [(String, [UInt8])] = [
            ("dmesg.txt", Array("<0>sysrq: Trigger a crash\n".utf8)), ("metadata.json", Array("{}".utf8)),
            ("vmcore", [UInt8](repeating: 7, count: 4096)), ("capture.log", Array("sent\n".utf8)),
        ]
        for (name, bytes) in files { store.stored["\(machine)/\(id)/\(name)"] = bytes }
        guard manifest else { return }
        store.stored["\(machine)/\(id)/manifest.json"] = Manifest(
            machineID: machine, dumpID: id,
            files: files.map {
                .init(name: $0.0, size: sizes[$0.0] ?? UInt64($0.1.count), sha256: FileDigest.sha256($0.1))
            }
        ).encoded()
    }

    @Test func aWholeUncollectedDumpIsRecordedShippedAndItsReportMarksItCollected() throws {
        send(id)
        #expect(records.recordNew(in: remote) == [id])
        let dump = Path.join(local, id)
        for name in ["dmesg.txt", "metadata.json", "capture.log", "manifest.json"] {
            #expect(
                try FileSystem.readRegularFile(Path.join(dump, name), limit: 1 << 20)
                    == store.stored["\(machine)/\(id)/\(name)"])
        }
        #expect(!FileSystem.exists(Path.join(dump, "vmcore")))
        let state = try #require(UploadState.read(dump: dump).targets["dropbox"])
        #expect(state.shipped && state.url == "sftp://root@10.0.2.2:2222/srv/dumps")
        #expect(state.bytesTotal == 4096 + 26 + 2 + 5 && state.bytesSent == state.bytesTotal)

        // Collection wrote the report; it goes beside the dump, report.json last.
        try FileSystem.writeAtomically(Path.join(dump, "report.txt"), Array("report\n".utf8), mode: 0o644)
        try FileSystem.writeAtomically(Path.join(dump, "report.json"), Array("{\"report\": 1}".utf8), mode: 0o644)
        records.sendReports([id], to: remote)
        #expect(store.stored["\(machine)/\(id)/report.json"] == Array("{\"report\": 1}".utf8))
        #expect(store.stored["\(machine)/\(id)/report.txt"] == Array("report\n".utf8))
        #expect(lines.all.contains("notice: dump \(id): its report is stored beside it in dropbox"))

        // A later boot of a machine whose dump directory did not survive: collected, not recorded again.
        try FileSystem.removeTree(dump)
        #expect(records.recordNew(in: remote) == [])
        #expect(!FileSystem.exists(dump))
        #expect(lines.all.last == "info: asked dropbox: 1 dump(s) of this machine there, 0 not yet collected")
    }

    @Test func aDumpCutShortOrCollectedIsLeftAndOtherNamesAreNotEntered() {
        let cut = "20261205T001000Z-00000001"
        let collected = "20261205T001100Z-00000002"
        send(cut, manifest: false)
        send(collected)
        store.stored["\(machine)/\(collected)/report.json"] = Array("{}".utf8)
        send("x y")
        send(".record-\(id)")
        send(id + ".incomplete")
        store.stored["other/\(id)/manifest.json"] = []
        #expect(records.recordNew(in: remote) == [])
        #expect(store.entered == [cut, collected])
        #expect(!FileSystem.exists(local) || (try? FileSystem.listDirectory(local))?.isEmpty == true)
    }

    @Test(arguments: [
        ("dmesg.txt", UInt64(27), "do not match the manifest's 27 and SHA-256"),
        ("metadata.json", UInt64(NetworkCaptureRecords.smallFileLimit + 1), "bytes is not a small file"),
    ])
    func aSmallFileUnlikeItsManifestLeavesNoRecord(file: String, size: UInt64, reason: String) {
        send(id, sizes: [file: size])
        #expect(records.recordNew(in: remote) == [])
        #expect(!FileSystem.exists(Path.join(local, id)))
        let line = lines.all.first {
            $0.hasPrefix("error: dump \(id) in dropbox, sent by the capture kernel, not recorded: ")
        }
        #expect(line?.contains(reason) == true, "\(lines.all)")
        // The next boot tries again: the target is unchanged and nothing local is in the way.
        store.stored["\(machine)/\(id)/manifest.json"] = nil
        send(id)
        #expect(records.recordNew(in: remote) == [id])
        #expect(FileSystem.exists(Path.join(Path.join(local, id), "manifest.json")))
    }
}
