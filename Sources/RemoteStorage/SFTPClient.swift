/// Uploads over SFTP with libcurl (libssh2): public-key login, a pinned host key, resumable appends.
package struct SFTPClient {
    package var target: String
    package var location: SFTPLocation
    package var maxRate: UInt64?
    /// Where requests keep one SSH connection between them (nil: a connection, and a login, for each).
    package var session: CurlSession?

    package init(target: String, location: SFTPLocation, maxRate: UInt64? = nil, session: CurlSession? = nil) {
        self.target = target
        self.location = location
        self.maxRate = maxRate
        self.session = session
    }

    /// What curl hands libssh2 at once (CURLOPT_UPLOAD_BUFFERSIZE; curl's default is 64 KiB): libssh2 puts one
    /// write's SFTP packets in flight together, so a larger buffer waits for fewer round trips. On this machine's
    /// loopback sshd a 40 MiB stream took 1.5 to 2.5 s with 64 KiB, 0.9 to 1.0 s with 1 MiB (3 MiB more resident)
    /// and 1.0 to 1.2 s with 2 MiB. The stream's own buffer adds as much again.
    package static let uploadBufferSize = 1 << 20

    /// `sftp://USER@HOST:PORT/PATH/<relative>`.
    package func url(_ relative: String) -> String {
        let host = location.host.contains(":") ? "[\(location.host)]" : location.host
        let path = location.path.hasSuffix("/") ? location.path : location.path + "/"
        return "sftp://\(S3Client.percentEncode(location.user))@\(host):\(location.port)"
            + (path + relative).split(separator: "/", omittingEmptySubsequences: false)
            .map { S3Client.percentEncode(String($0)) }.joined(separator: "/")
    }

    /// The URL that lists directory `<relative>` (libcurl lists an SFTP URL ending in "/").
    package func directoryURL(_ relative: String) -> String {
        url(relative.isEmpty || relative.hasSuffix("/") ? relative : relative + "/")
    }

    /// Uploads `body` to `<relative>.part`, appending to what a cut-off earlier attempt left there (a stream, which
    /// cannot seek, starts it afresh), then renames it to `<relative>` (SFTP's rename does not replace, so an older
    /// copy is removed first). A transfer that fails is never renamed: `<relative>` only ever holds a whole file.
    package func put(_ relative: String, body: RequestBody, progress: ((UInt64) -> Void)? = nil) throws(UploadError) {
        let path = (location.path.hasSuffix("/") ? location.path : location.path + "/") + relative
        var request = CurlRequest(url: url(relative + ".part"))
        request.method = "PUT"
        request.body = body
        request.resumeFrom = body.isStream ? nil : -1
        request.createMissingDirectories = true
        request.postQuote = ["*rm \"\(path)\"", "rename \"\(path).part\" \"\(path)\""]
        request.maxRate = maxRate
        request.progress = progress
        request.uploadBufferSize = Self.uploadBufferSize
        _ = try perform(request, unsent: "nothing was sent")
    }

    /// The file `<relative>`, whole: larger than `limit` bytes is an error, and no more than that is received.
    package func get(_ relative: String, limit: Int) throws(UploadError) -> [UInt8] {
        var request = CurlRequest(url: url(relative))
        request.responseBodyLimit = limit
        request.failBeyondLimit = true
        return try perform(request, unsent: "nothing was read")?.body ?? []
    }

    /// The largest directory listing read: 1 MiB holds the names of some 40,000 dumps.
    package static let listingLimit = 1 << 20

    /// The names in directory `<relative>` (without "." and ".."); nil when there is no such directory.
    package func list(_ relative: String) throws(UploadError) -> [String]? {
        var request = CurlRequest(url: directoryURL(relative))
        request.listNamesOnly = true
        request.responseBodyLimit = Self.listingLimit
        request.failBeyondLimit = true
        guard let response = try perform(request, unsent: "nothing was read", missingIsNil: true) else { return nil }
        return try SFTPListing.names(response.body, target: target, url: request.url)
    }

    /// Runs `request` with the login key and the pinned host key; nil when `missingIsNil` and the server says there
    /// is no such file or directory.
    private func perform(
        _ request: CurlRequest, unsent: String, missingIsNil: Bool = false
    ) throws(UploadError) -> CurlResponse? {
        var request = request
        request.sshPrivateKey = location.keyFile
        request.sshPublicKey = location.keyFile + ".pub"
        request.sshHostKeySHA256 = location.hostKeySHA256
        do { return try Curl.perform(request, session: session) } catch {
            if error.isNotFound && missingIsNil { return nil }
            if error.isPeerVerification {
                throw .transport(
                    target: target, url: request.url,
                    message: "the host key of \(location.host):\(location.port) does not "
                        + "match HostKey=SHA256:\(location.hostKeySHA256) (\(error.message)); \(unsent)")
            }
            if error.code == CurlFailure.beyondLimit {
                throw .protocolViolation(target: target, url: request.url, message: error.message)
            }
            throw .transport(target: target, url: request.url, message: error.message)
        }
    }
}

/// A directory listing as libcurl writes it for an SFTP URL ending in "/" with CURLOPT_DIRLISTONLY: each name the
/// server sent, then a line break. The names are exact (SFTP's own `filename` field, not the `ls -l` text, whose
/// format the protocol leaves to each server), but they come from the server and may hold any byte but "/" and NUL,
/// spaces and line breaks among them.
package enum SFTPListing {
    /// The names of `bytes` in the server's order, without "." and "..". A listing cut short, an empty or repeated
    /// name (a name holding a line break reads as two), or a NUL is an error naming the line. Names that are not
    /// UTF-8 come back with U+FFFD in place of the bad bytes (never equal to an ASCII name).
    package static func names(_ bytes: [UInt8], target: String, url: String) throws(UploadError) -> [String] {
        func fail(_ message: String) -> UploadError {
            .protocolViolation(target: target, url: url, message: "the directory listing " + message)
        }
        guard !bytes.isEmpty else { return [] }
        guard bytes.last == UInt8(ascii: "\n") else {
            let tail = bytes.count - 1 - (bytes.lastIndex(of: UInt8(ascii: "\n")) ?? -1)
            throw fail("is cut short: its last \(tail) bytes end without a line break")
        }
        var names: [String] = []
        var seen: [ArraySlice<UInt8>: Int] = [:]
        for (index, line) in bytes.dropLast().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .enumerated()
        {
            let number = index + 1
            guard !line.isEmpty else { throw fail("has an empty line \(number): no file has an empty name") }
            guard !line.contains(0) else { throw fail("has a NUL byte in line \(number)") }
            if let earlier = seen[line] {
                throw fail(
                    "names \"\(String(decoding: line, as: UTF8.self))\" twice, in lines \(earlier) and \(number) "
                        + "(a name with a line break in it reads as two)")
            }
            seen[line] = number
            let name = String(decoding: line, as: UTF8.self)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
