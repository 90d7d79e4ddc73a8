// oopsd-capture-upload: the capture kernel's way to S3 or SFTP, run by oopsd-capture for `[Capture] Target=`.
// A program of its own because libcurl (and its TLS, SSH and IDN libraries) cannot be linked into the static
// oopsd-capture: this one is linked against Debian's shared libraries, which the initramfs builder copies with
// their DT_NEEDED closure, and it stays Foundation-free (the Swift runtime linked in statically).
//
//   oopsd-capture-upload [--target FILE] --dump ID --file NAME [--end-mark]
//       stores standard input as NAME of dump ID, prints "stored NAME SIZE SHA256 PARTS"; with --end-mark the
//       input must end with the line OOPSD-END-OF-STREAM (not stored), else the upload is aborted
//   oopsd-capture-upload [--target FILE] --dump ID --manifest     reads "NAME SIZE SHA256" lines, stores
//                                                                 manifest.json (last: it says the dump is whole)
// Errors go to standard error, one line, exit status 1; 2 for a usage error.
import DumpFormat
import RemoteStorage
import SystemCalls

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String, status: Int32 = 1) -> Never {
    var line = Array(("oopsd-capture-upload: " + message + "\n").utf8)
    // Sound because write(2) reads at most the borrowed line's count bytes.
    _ = unsafe line.withUnsafeMutableBytes { unsafe write(2, $0.baseAddress, $0.count) }
    exit(status)
}

func say(_ text: String) {
    var line = Array((text + "\n").utf8)
    // Sound because write(2) reads at most the borrowed line's count bytes.
    _ = unsafe line.withUnsafeMutableBytes { unsafe write(1, $0.baseAddress, $0.count) }
}

var targetPath = CaptureNetwork.targetPathInInitramfs
var dumpID: String?
var fileName: String?
var manifest = false
var endMark = false
var arguments = CommandLine.arguments.dropFirst()
@MainActor func value(after option: String) -> String {
    guard let value = arguments.popFirst() else { fail("\(option) needs a value", status: 2) }
    return value
}
while let argument = arguments.popFirst() {
    switch argument {
    case "--target": targetPath = value(after: argument)
    case "--dump": dumpID = value(after: argument)
    case "--file": fileName = value(after: argument)
    case "--manifest": manifest = true
    case "--end-mark": endMark = true
    default: fail("unknown argument \(argument)", status: 2)
    }
}
guard let dumpID, !dumpID.isEmpty, !dumpID.contains("/"), manifest != (fileName != nil) else {
    fail("usage: oopsd-capture-upload [--target FILE] --dump ID (--file NAME | --manifest) < STREAM", status: 2)
}
let target: FrozenCaptureTarget
do { target = try FrozenCaptureTarget(parsing: try FileSystem.readText(targetPath), path: targetPath) } catch {
    fail("\(targetPath): \(error)")
}

do {
    if let fileName {
        guard !fileName.isEmpty, !fileName.contains("/") else { fail("--file \(fileName): a plain file name") }
        switch target {
        case .s3(let target):
            var upload = S3StreamUpload(
                client: target.client, key: target.key(dumpID: dumpID, file: fileName), partSize: target.partSize)
            if endMark { upload.endMark = CaptureNetwork.streamEndMark }
            upload.onPart = { number, bytes in say("part \(fileName) \(number) \(bytes)") }
            let stored = try upload.upload(from: 0)
            say("stored \(fileName) \(stored.size) \(stored.sha256) \(stored.parts)")
        case .sftp(let target):
            // One file, written as it arrives; SFTP needs no parts.
            let source = StreamSource(
                descriptor: 0, path: "the stream of \(fileName)", endMark: endMark ? CaptureNetwork.streamEndMark : [])
            try target.client.put(target.relativePath(dumpID: dumpID, file: fileName), body: .stream(source))
            say("stored \(fileName) \(source.size) \(source.sha256) 0")
        }
    } else {
        var files: [Manifest.File] = []
        while let line = readLine() {
            let words = line.split(separator: " ")
            guard words.count == 3, let size = UInt64(words[1]), words[2].count == 64 else {
                fail("--manifest: expected \"NAME SIZE SHA256\", found \"\(line)\"")
            }
            files.append(Manifest.File(name: String(words[0]), size: size, sha256: String(words[2])))
        }
        let bytes = Manifest(machineID: target.machineID, dumpID: dumpID, files: files).encoded()
        switch target {
        case .s3(let target):
            _ = try target.client.putObject(key: target.key(dumpID: dumpID, file: "manifest.json"), body: .bytes(bytes))
        case .sftp(let target):
            try target.client.put(target.relativePath(dumpID: dumpID, file: "manifest.json"), body: .bytes(bytes))
        }
        say("stored manifest.json \(bytes.count) \(files.count)")
    }
} catch {
    fail("\(error)")
}
