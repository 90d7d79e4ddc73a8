import OopsConfig
import SystemCalls
import Testing

@testable import RemoteStorage

@Suite struct UploadTargetTests {
    func configured(_ text: String) -> OopsConfiguration.UploadTarget {
        var merged = MergedConfiguration()
        merged.apply(text: text, file: "/etc/oopsd/oopsd.conf.d/fleet.conf")
        return OopsConfiguration(merged).upload.targets[0]
    }

    @Test func s3TargetWithPathAddressing() throws {
        let target = try UploadTarget.check(
            configured(
                """
                [Upload.rgw]
                URL=s3://crash-dumps/fleet/eu/
                Endpoint=http://127.0.0.1:7480/
                Credentials=/etc/oopsd/s3.credentials
                MaxRate=10M
                """), root: HostRoot("/tmp/root"))
        #expect(target.name == "rgw")
        #expect(target.maxRate == 10 << 20)
        #expect(target.partSize == 32 << 20)
        #expect(
            target.location
                == .s3(
                    S3Location(
                        bucket: "crash-dumps", prefix: "fleet/eu", endpoint: "http://127.0.0.1:7480",
                        region: "us-east-1",
                        virtualHost: false, credentials: "/tmp/root/etc/oopsd/s3.credentials")))
        guard case .s3(let location) = target.location else { return }
        let client = S3Client(target: "rgw", location: location, credentials: .init(accessKey: "a", secretKey: "b"))
        #expect(
            client.url(key: "fleet/eu/m/d 1/vmcore", query: "uploads=")
                == "http://127.0.0.1:7480/crash-dumps/fleet/eu/m/d%201/vmcore?uploads=")
    }

    @Test func virtualHostAddressingPutsTheBucketInTheHostName() throws {
        let target = try UploadTarget.check(
            configured(
                """
                [Upload.aws]
                URL=s3://dumps
                Region=eu-west-1
                Addressing=virtual
                Credentials=s3
                """), root: HostRoot("/"))
        guard case .s3(let location) = target.location else {
            Issue.record("not s3")
            return
        }
        #expect(location.endpoint == "https://s3.eu-west-1.amazonaws.com")
        let client = S3Client(target: "aws", location: location, credentials: .init(accessKey: "a", secretKey: "b"))
        #expect(client.url(key: "m/d/dmesg.txt") == "https://dumps.s3.eu-west-1.amazonaws.com/m/d/dmesg.txt")
    }

    @Test func sftpTargetWithPortKeyAndPinnedHostKey() throws {
        let target = try UploadTarget.check(
            configured(
                """
                [Upload.dropbox]
                URL=sftp://dumps@backup.example.net:2222/srv/dumps/
                KeyFile=/etc/oopsd/id_ed25519
                HostKey=SHA256:Kim9v308FZC3dJSzwB+4H3dAyQaYzkl1VLtX+nEH8tE
                """), root: HostRoot("/"))
        #expect(
            target.location
                == .sftp(
                    SFTPLocation(
                        user: "dumps", host: "backup.example.net", port: 2222, path: "/srv/dumps",
                        keyFile: "/etc/oopsd/id_ed25519",
                        hostKeySHA256: "Kim9v308FZC3dJSzwB+4H3dAyQaYzkl1VLtX+nEH8tE")))
    }

    @Test(arguments: [
        (
            "URL=ftp://x/y",
            "[Upload.t]: URL=ftp://x/y: expected s3://BUCKET/PREFIX or sftp://USER@HOST[:PORT]/PATH "
                + "(/etc/oopsd/oopsd.conf.d/fleet.conf:2)"
        ),
        (
            "URL=s3://bucket/p",
            "[Upload.t]: Credentials= is missing; expected an AWS-style credentials file "
                + "(/etc/oopsd/oopsd.conf.d/fleet.conf:2)"
        ),
        (
            "URL=sftp://u@h:99999/p\nKeyFile=/k\nHostKey=SHA256:x",
            "[Upload.t]: URL=sftp://u@h:99999/p: the port is not "
                + "a number from 1 to 65535 (/etc/oopsd/oopsd.conf.d/fleet.conf:2)"
        ),
        (
            "URL=sftp://u@h/p\nKeyFile=/k",
            "[Upload.t]: HostKey= must pin the server's key as SHA256:BASE64 (ssh-keygen "
                + "-lf /etc/ssh/ssh_host_ed25519_key.pub prints it) (/etc/oopsd/oopsd.conf.d/fleet.conf:2)"
        ),
        (
            "URL=s3://b\nCredentials=/c\nPartSize=1M",
            "[Upload.t]: PartSize=1048576 is below S3's minimum of 5M "
                + "(/etc/oopsd/oopsd.conf.d/fleet.conf:2)"
        ),
    ])
    func badTargetsAreNamedWithFileAndLine(_ body: String, _ message: String) {
        #expect(
            throws: UploadError.configuration(target: "t", message: String(message.dropFirst("[Upload.t]: ".count)))
        ) {
            try UploadTarget.check(configured("[Upload.t]\n" + body), root: HostRoot("/"))
        }
    }
}
