import DumpFormat
import Foundation  // tests only: JSONEncoder wrote upload-state.json before DumpFormat; the bytes must not change
import Testing

@Suite struct UploadStateTests {
    /// The Codable shape upload-state.json had when Foundation's JSONEncoder wrote it.
    struct Encoded: Encodable {
        var targets: [String: UploadState.Target]
    }

    static let state = UploadState(targets: [
        "s3": .init(
            shipped: true, url: "s3://bucket/dumps/", bytesSent: 3 << 30, bytesTotal: 3 << 30,
            updated: "2026-01-31T12:00:00Z", shippedAt: "2026-01-31T12:00:00Z"),
        "b10": .init(
            url: "sftp://host/srv/dumps", bytesSent: 5, bytesTotal: 10, error: "HTTP 503 \"busy\"\n\ttab",
            updated: "2026-01-31T11:00:00Z"),
        "B2": .init(url: "https://x/y", updated: "t"),
        "a": .init(updated: ""),
        "t9": .init(updated: "u"),
        "t10": .init(updated: "v"),
        "é": .init(updated: "w"),
    ])

    @Test func writesTheBytesJSONEncoderWrote() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let expected = [UInt8](try encoder.encode(Encoded(targets: Self.state.targets))) + [10]
        #expect(String(decoding: Self.state.bytes, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test func readsBackWhatItWrites() throws {
        #expect(try UploadState(json: Self.state.bytes, path: "x") == Self.state)
    }

    @Test func missingFieldsTakeTheirDefaultsAndShippedNeedsEveryTarget() throws {
        let state = try UploadState(json: Array(#"{"targets": {"s3": {"shipped": true}, "sftp": 7}}"#.utf8), path: "x")
        #expect(state.targets == ["s3": .init(shipped: true)])
        #expect(state.isShipped(to: ["s3"]))
        #expect(!state.isShipped(to: ["s3", "sftp"]))
        #expect(state.isShipped(to: []))
        #expect(throws: DumpFileError.malformed(path: "x", reason: "expected an object with a \"targets\" object")) {
            try UploadState(json: Array("[]".utf8), path: "x")
        }
    }

    @Test func readOfAMissingFileIsEmpty() {
        #expect(UploadState.read(dump: "/nonexistent/dump") == UploadState())
    }
}
