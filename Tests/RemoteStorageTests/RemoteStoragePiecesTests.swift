import Foundation
import RemoteStorage
import SystemCalls
import TestSupport
import Testing

/// Credentials, backoff, S3 XML and the manifest: the pieces both the service and the capture kernel rely on, without a
/// server.
@Suite struct RemoteStoragePiecesTests {
    @Test func credentialsFileIsReadAndItsModeChecked() throws {
        let scratch = try TemporaryDirectory("upload")
        let directory = scratch.path
        let file = directory + "/s3.credentials"
        try
            "# fleet\n[other]\naws_access_key_id = NO\n[default]\naws_access_key_id = AKIA1\r\naws_secret_access_key=s/3+x\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        #expect(try S3Credentials.load(file, environment: [:]) == S3Credentials(accessKey: "AKIA1", secretKey: "s/3+x"))
        chmod(file, 0o640)
        #expect(
            throws: UploadError.credentials(
                path: file,
                message: "mode 640 lets group or others read or write the "
                    + "secret key; expected 600 or 400 (chmod 600 \(file))")
        ) {
            try S3Credentials.load(file, environment: [:])
        }
        // systemd credentials: a bare name in $CREDENTIALS_DIRECTORY, whose access systemd controls.
        #expect(
            try S3Credentials.load("s3.credentials", environment: ["CREDENTIALS_DIRECTORY": directory]).accessKey
                == "AKIA1")
        #expect(
            throws: UploadError.credentials(
                path: "s3",
                message: "a bare name is looked up in $CREDENTIALS_DIRECTORY, "
                    + "which is not set (use LoadCredential= in oopsd.service, or an absolute path)")
        ) {
            try S3Credentials.load("s3", environment: [:])
        }
        #expect(
            throws: UploadError.credentials(path: "f", message: "no aws_secret_access_key in the [default] profile")
        ) {
            try S3Credentials.parse("aws_access_key_id = A\n", path: "f")
        }
    }

    @Test func backoffDoublesWithJitterAndStopsOnPermanentErrors() throws {
        var waits: [Double] = []
        var backoff = Backoff(attempts: 5)
        backoff.sleep = { waits.append($0) }
        var calls = 0
        let transient = UploadError.transport(target: "t", url: "u", message: "Connection refused")
        let value = try backoff.run { () throws(UploadError) -> Int in
            calls += 1
            if calls < 4 { throw transient }
            return 42
        }
        #expect(value == 42 && calls == 4)
        #expect(waits.count == 3)
        for (index, wait) in waits.enumerated() {
            let ceiling = Double(1 << index)
            #expect(wait >= ceiling / 2 && wait <= ceiling, "wait \(index + 1) was \(wait)")
        }
        calls = 0
        let permanent = UploadError.server(target: "t", url: "u", status: 403, code: "AccessDenied", message: "")
        #expect(throws: permanent) {
            try backoff.run { () throws(UploadError) in
                calls += 1
                throw permanent
            }
        }
        #expect(calls == 1)
        calls = 0
        #expect(throws: transient) {
            try backoff.run { () throws(UploadError) in
                calls += 1
                throw transient
            }
        }
        #expect(calls == 5)
    }

    @Test func roundBackoffDoublesFromTheBaseUpToTheCapWithItsJitterFloor() {
        let rounds = Backoff(base: 30, cap: 3600, jitterFloor: 0.75)
        for (failures, ceiling) in [(1, 30.0), (2, 60), (3, 120), (8, 3600), (40, 3600)] {
            for _ in 0..<50 {
                let wait = rounds.wait(after: failures)
                #expect(wait >= ceiling * 0.75 && wait <= ceiling, "after \(failures) failures: \(wait)")
            }
        }
    }

    @Test func s3AnswersAreReadAndEntitiesDecoded() {
        let listing = """
            <ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>\
            <ETag>&quot;e2617ed1&quot;</ETag><Size>8388608</Size></Part><Part><PartNumber>2</PartNumber>\
            <ETag>&quot;aa&quot;</ETag><Size>10</Size></Part></ListPartsResult>
            """
        let parts = XMLText.all("Part", in: listing)
        #expect(parts.count == 2)
        #expect(XMLText.first("ETag", in: parts[0]) == "\"e2617ed1\"")
        #expect(XMLText.first("Size", in: parts[1]) == "10")
        #expect(XMLText.escape("\"a&b\"") == "&quot;a&amp;b&quot;")
        #expect(S3Client.percentEncode("20260101T00:00Z a~b/c") == "20260101T00%3A00Z%20a~b%2Fc")
    }

    @Test func manifestIsStableJSONWithSizesAndHashes() throws {
        let manifest = Manifest(
            machineID: "m", dumpID: "d",
            files: [
                .init(
                    name: "dmesg.txt", size: 3,
                    sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            ])
        #expect(
            String(decoding: manifest.encoded(), as: UTF8.self) == """
                {
                  "dump_id" : "d",
                  "files" : [
                    {
                      "name" : "dmesg.txt",
                      "sha256" : "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                      "size" : 3
                    }
                  ],
                  "machine_id" : "m"
                }

                """)
    }
}
