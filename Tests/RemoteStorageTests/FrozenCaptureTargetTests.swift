import Digest
import DumpFormat
import Foundation
import SystemCalls
import TestSupport
import Testing

@testable import RemoteStorage

/// The target frozen into a capture initramfs, S3 or SFTP, read back as written; and the stream the capture kernel's
/// SFTP upload reads, with its end mark.
@Suite struct FrozenCaptureTargetTests {
    static let sftp = FrozenSFTPTarget(
        name: "dropbox", url: "sftp://dumps@10.0.2.2:2222/srv/dumps",
        location: SFTPLocation(
            user: "dumps", host: "10.0.2.2", port: 2222, path: "/srv/dumps",
            keyFile: FrozenSFTPTarget.keyPathInInitramfs, hostKeySHA256: "q5Yh0aZbm7p2+9fX0R0dL7YjKm3x5mJ0Kc1Wn9yq0aE"),
        machineID: "5e1f0c0ffee000000000000000000042")

    @Test func anSFTPTargetReadsBackAsWrittenAndIsToldApartFromS3ByItsURL() throws {
        let text = try Self.sftp.text()
        #expect(text.hasPrefix("name=dropbox\nurl=sftp://dumps@10.0.2.2:2222/srv/dumps\nuser=dumps\n"))
        #expect(text.contains("key_file=/etc/oopsd/capture-target-key\n"))
        #expect(try FrozenCaptureTarget(parsing: text) == .sftp(Self.sftp))
        #expect(
            Self.sftp.relativePath(dumpID: "20261204T170000Z-0a1b2c3d", file: "vmcore")
                == "5e1f0c0ffee000000000000000000042/20261204T170000Z-0a1b2c3d/vmcore")
        let s3 = FrozenS3Target(
            name: "rgw", url: "s3://dumps/vm",
            location: S3Location(
                bucket: "dumps", prefix: "vm", endpoint: "http://10.0.2.2:7480", region: "us-east-1",
                virtualHost: false, credentials: ""),
            credentials: S3Credentials(accessKey: "A", secretKey: "S"), partSize: 8 << 20,
            machineID: "5e1f0c0ffee000000000000000000042")
        #expect(try FrozenCaptureTarget(parsing: try s3.text()) == .s3(s3))
    }

    @Test func aBrokenFrozenSFTPTargetNamesItsLine() throws {
        let text = try Self.sftp.text()
        #expect(throws: UploadError.configuration(target: "f", message: "port: expected 1 to 65535, found \"0\"")) {
            try FrozenSFTPTarget(parsing: text.replacingOccurrences(of: "port=2222", with: "port=0"), path: "f")
        }
        #expect(throws: UploadError.configuration(target: "f", message: "line 10: user repeats")) {
            try FrozenSFTPTarget(parsing: text + "user=root\n", path: "f")
        }
        #expect(throws: UploadError.configuration(target: "f", message: "missing key host_key_sha256")) {
            try FrozenSFTPTarget(
                parsing: text.split(separator: "\n").filter { !$0.hasPrefix("host_key") }.joined(separator: "\n"),
                path: "f")
        }
        #expect(
            throws: UploadError.configuration(target: "dropbox", message: "the value of path contains a line break")
        ) {
            var broken = Self.sftp
            broken.location.path = "/srv\n/dumps"
            _ = try broken.text()
        }
    }

    /// Reads `bytes` through a StreamSource with `mark`, in reads of `size`: the data and its SHA-256.
    func stream(_ bytes: [UInt8], mark: [UInt8], size: Int) throws -> (data: [UInt8], source: StreamSource) {
        let scratch = try TemporaryDirectory("stream")
        let path = scratch.path + "/s"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let descriptor = open(path, O_RDONLY)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        let source = StreamSource(descriptor: descriptor, path: "the stream of vmcore", endMark: mark)
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: size)
        while true {
            let got = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if got == 0 { break }
            data += buffer[..<got]
        }
        return (data, source)
    }

    @Test(arguments: [1, 7, 1 << 16, 1 << 20])
    func aStreamGivesItsDataWithoutTheEndMark(readSize: Int) throws {
        let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let (read, source) = try stream(
            data + CaptureNetwork.streamEndMark, mark: CaptureNetwork.streamEndMark, size: readSize)
        #expect(read == data)
        #expect(source.size == UInt64(data.count))
        #expect(source.sha256 == SHA256.hex(data))
    }

    @Test func aStreamCutShortFailsInsteadOfEnding() throws {
        let data = [UInt8](repeating: 7, count: 100_000)
        #expect(
            throws: UploadError.localFile(
                path: "the stream of vmcore",
                message: "ended without its end mark: the writer stopped before the file was complete")
        ) {
            _ = try stream(
                data + CaptureNetwork.streamEndMark.dropLast(), mark: CaptureNetwork.streamEndMark, size: 4096)
        }
        // Without a mark every byte is data, an empty stream included.
        #expect(try stream(data, mark: [], size: 4096).data == data)
        #expect(try stream([], mark: [], size: 4096).data == [])
    }
}
