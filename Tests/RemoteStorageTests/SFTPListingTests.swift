import Testing

@testable import RemoteStorage

/// A directory listing libcurl wrote for an SFTP URL ending in "/": the server's names, one a line. It is input from
/// the network: names may hold any byte but "/" and NUL, and a listing that cannot be read for certain is an error
/// naming the line.
@Suite struct SFTPListingTests {
    let url = "sftp://root@10.0.2.2:2222/srv/dumps/m/"

    func names(_ text: String) throws(UploadError) -> [String] {
        try SFTPListing.names(Array(text.utf8), target: "dropbox", url: url)
    }

    func failure(_ bytes: [UInt8]) -> String? {
        do { _ = try SFTPListing.names(bytes, target: "dropbox", url: url) } catch { return "\(error)" }
        return nil
    }

    @Test func theNamesComeBackExactlyWithoutDotAndDotDot() throws {
        let listed = try names(
            ".\n..\n20261204T170000Z-0a1b2c3d\n manifest.json\nreport.json \na -> b\nno such dump\nä€\n-rw-r--r--\n")
        #expect(
            listed == [
                "20261204T170000Z-0a1b2c3d", " manifest.json", "report.json ", "a -> b", "no such dump", "ä€",
                "-rw-r--r--",
            ])
    }

    @Test func anEmptyDirectoryHasNoNames() throws {
        #expect(try names("") == [])
        #expect(try names(".\n..\n") == [])
    }

    @Test func aNameThatIsNotUTF8NeverEqualsAnASCIIName() throws {
        let listed = try SFTPListing.names(
            Array("report".utf8) + [0xff] + Array(".json\nok\n".utf8), target: "dropbox", url: url)
        #expect(listed.count == 2)
        #expect(listed[0] != "report.json" && listed[0].hasPrefix("report"))
        #expect(listed[1] == "ok")
    }

    @Test(arguments: [
        ("a\nb", "the directory listing is cut short: its last 1 bytes end without a line break"),
        ("a\n\nb\n", "the directory listing has an empty line 2: no file has an empty name"),
        (
            "x\nmanifest.json\nmanifest.json\n",
            "the directory listing names \"manifest.json\" twice, in lines 2 and 3 (a name with a line break in it "
                + "reads as two)"
        ),
    ])
    func aListingThatCannotBeReadForCertainIsRefusedByLine(text: String, message: String) {
        #expect(failure(Array(text.utf8)) == "dropbox: \(url): \(message)")
    }

    @Test func aNULByteIsRefused() {
        #expect(
            failure(Array("a\nb".utf8) + [0, 10]) == "dropbox: \(url): the directory listing has a NUL byte in line 2")
    }

    @Test func theListingURLEndsInASlashAndEncodesEachName() {
        let client = SFTPClient(
            target: "dropbox",
            location: SFTPLocation(
                user: "root", host: "10.0.2.2", port: 2222, path: "/srv/dumps", keyFile: "/k", hostKeySHA256: "x"))
        #expect(client.directoryURL("m") == "sftp://root@10.0.2.2:2222/srv/dumps/m/")
        #expect(client.directoryURL("") == "sftp://root@10.0.2.2:2222/srv/dumps/")
        #expect(client.url("m/a b/report.json") == "sftp://root@10.0.2.2:2222/srv/dumps/m/a%20b/report.json")
    }
}
