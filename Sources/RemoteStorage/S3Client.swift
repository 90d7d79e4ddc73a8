/// The few S3 calls shipping needs (PutObject, multipart upload, ListParts, and ListObjectsV2 and GetObject for the
/// dumps the capture kernel sent), signed by libcurl with AWS SigV4.
package struct S3Client {
    package var target: String
    package var location: S3Location
    package var credentials: S3Credentials
    package var maxRate: UInt64?

    package init(target: String, location: S3Location, credentials: S3Credentials, maxRate: UInt64? = nil) {
        (self.target, self.location, self.credentials, self.maxRate) = (target, location, credentials, maxRate)
    }

    /// The URL of `key` (already relative to the bucket) with an optional query (`uploads=`).
    package func url(key: String, query: String = "") -> String {
        let encodedKey = key.split(separator: "/").map { Self.percentEncode(String($0)) }.joined(separator: "/")
        let base: String
        if location.virtualHost, let schemeEnd = location.endpoint.firstRange(of: "://") {
            base =
                location.endpoint[..<schemeEnd.upperBound] + location.bucket + "."
                + location.endpoint[schemeEnd.upperBound...] + "/"
        } else {
            base = location.endpoint + "/" + Self.percentEncode(location.bucket) + "/"
        }
        return base + encodedKey + (query.isEmpty ? "" : "?" + query)
    }

    /// Sends one signed request; a status outside 200..<300 becomes `UploadError.server` with S3's error code.
    package func send(
        _ method: String, key: String, query: String = "", body: RequestBody = .none,
        headers: [String] = [], progress: ((UInt64) -> Void)? = nil, responseLimit: Int = 1 << 20
    ) throws(UploadError) -> CurlResponse {
        var request = CurlRequest(url: url(key: key, query: query))
        request.method = method
        request.body = body
        // curl 7.88 signs the payload hash only when given; the bytes are checked end to end by manifest.json.
        request.headers = ["x-amz-content-sha256: UNSIGNED-PAYLOAD"] + headers
        request.awsSigV4 = "aws:amz:\(location.region):s3"
        request.userPassword = "\(credentials.accessKey):\(credentials.secretKey)"
        request.maxRate = maxRate
        request.progress = progress
        request.responseBodyLimit = responseLimit
        let response: CurlResponse
        do { response = try Curl.perform(request) } catch {
            throw .transport(target: target, url: request.url, message: error.message)
        }
        guard (200..<300).contains(response.status) else {
            let text = response.bodyText
            throw .server(
                target: target, url: request.url, status: response.status,
                code: XMLText.first("Code", in: text) ?? "", message: XMLText.first("Message", in: text) ?? "")
        }
        return response
    }

    /// PutObject; returns the ETag.
    package func putObject(
        key: String, body: RequestBody, progress: ((UInt64) -> Void)? = nil
    ) throws(UploadError) -> String {
        let response = try send("PUT", key: key, body: body, progress: progress)
        return response.header("etag") ?? ""
    }

    /// CreateMultipartUpload; returns the upload ID.
    package func createMultipartUpload(key: String) throws(UploadError) -> String {
        let response = try send("POST", key: key, query: "uploads=")
        guard let id = XMLText.first("UploadId", in: response.bodyText), !id.isEmpty else {
            throw .protocolViolation(
                target: target, url: url(key: key, query: "uploads="),
                message: "CreateMultipartUpload answered without an UploadId")
        }
        return id
    }

    /// UploadPart; returns the part's ETag.
    package func uploadPart(
        key: String, uploadID: String, number: Int, body: RequestBody,
        progress: ((UInt64) -> Void)? = nil
    ) throws(UploadError) -> String {
        let query = "partNumber=\(number)&uploadId=\(Self.percentEncode(uploadID))"
        let response = try send("PUT", key: key, query: query, body: body, progress: progress)
        guard let etag = response.header("etag"), !etag.isEmpty else {
            throw .protocolViolation(
                target: target, url: url(key: key, query: query),
                message: "UploadPart answered without an ETag")
        }
        return etag
    }

    /// ListParts: the parts the server holds, by number (nil when the upload no longer exists).
    package func listParts(key: String, uploadID: String) throws(UploadError) -> [Int: (etag: String, size: UInt64)]? {
        var parts: [Int: (etag: String, size: UInt64)] = [:]
        var marker = 0
        while true {
            let query = "part-number-marker=\(marker)&uploadId=\(Self.percentEncode(uploadID))"
            let response: CurlResponse
            do { response = try send("GET", key: key, query: query) } catch {
                if case .server(_, _, 404, "NoSuchUpload", _) = error { return nil }
                throw error
            }
            let text = response.bodyText
            for part in XMLText.all("Part", in: text) {
                guard let number = XMLText.first("PartNumber", in: part).flatMap({ Int($0) }),
                    let etag = XMLText.first("ETag", in: part),
                    let size = XMLText.first("Size", in: part).flatMap({ UInt64($0) })
                else { continue }
                parts[number] = (etag, size)
            }
            guard XMLText.first("IsTruncated", in: text) == "true",
                let next = XMLText.first("NextPartNumberMarker", in: text).flatMap({ Int($0) }), next > marker
            else { break }
            marker = next
        }
        return parts
    }

    /// CompleteMultipartUpload with the parts in order.
    package func completeMultipartUpload(
        key: String, uploadID: String, parts: [(number: Int, etag: String)]
    )
        throws(UploadError)
    {
        var xml = "<CompleteMultipartUpload>"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(XMLText.escape(part.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let query = "uploadId=\(Self.percentEncode(uploadID))"
        let response = try send(
            "POST", key: key, query: query, body: .bytes(Array(xml.utf8)),
            headers: ["Content-Type: application/xml"])
        // S3 may answer 200 with an <Error> body when completion fails late.
        if let code = XMLText.first("Code", in: response.bodyText), response.bodyText.contains("<Error>") {
            throw .server(
                target: target, url: url(key: key, query: query), status: response.status, code: code,
                message: XMLText.first("Message", in: response.bodyText) ?? "")
        }
    }

    /// One object of a listing.
    package struct Object: Equatable {
        package var key: String
        package var size: UInt64
        /// `LastModified` as the server wrote it (ISO 8601).
        package var lastModified: String
    }

    /// ListObjectsV2: every object whose key starts with `prefix`, page after page, in key order.
    package func listObjects(prefix: String) throws(UploadError) -> [Object] {
        var objects: [Object] = []
        var token: String?
        // Bounded by the pages the server says follow; a server that repeats a token is a protocol violation.
        while true {
            var query = "list-type=2&prefix=\(Self.percentEncode(prefix))"
            if let token { query = "continuation-token=\(Self.percentEncode(token))&" + query }
            let text = try send("GET", key: "", query: query).bodyText
            for entry in XMLText.all("Contents", in: text) {
                guard let key = XMLText.first("Key", in: entry),
                    let size = XMLText.first("Size", in: entry).flatMap({ UInt64($0) })
                else { continue }
                objects.append(
                    Object(key: key, size: size, lastModified: XMLText.first("LastModified", in: entry) ?? ""))
            }
            guard XMLText.first("IsTruncated", in: text) == "true" else { return objects }
            guard let next = XMLText.first("NextContinuationToken", in: text), !next.isEmpty, next != token else {
                throw .protocolViolation(
                    target: target, url: url(key: "", query: query),
                    message: "ListObjectsV2 said more follow without a new NextContinuationToken")
            }
            token = next
        }
    }

    /// GetObject of an object of at most `limit` bytes, held in memory.
    package func getObject(key: String, limit: Int) throws(UploadError) -> [UInt8] {
        let response = try send("GET", key: key, responseLimit: limit + 1)
        guard response.body.count <= limit else {
            throw .protocolViolation(
                target: target, url: url(key: key), message: "the object is larger than \(limit) bytes")
        }
        return response.body
    }

    /// AbortMultipartUpload: the server drops the parts it holds.
    package func abortMultipartUpload(key: String, uploadID: String) throws(UploadError) {
        _ = try send("DELETE", key: key, query: "uploadId=\(Self.percentEncode(uploadID))")
    }

    /// RFC 3986 unreserved characters stay, everything else is %XX (as SigV4's canonical form wants).
    package static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }
}

/// Just enough XML reading for S3's flat answers: the text of `<Tag>` elements, entities decoded.
package enum XMLText {
    /// The text of every `<tag>...</tag>`.
    package static func all(_ tag: String, in text: String) -> [String] {
        var results: [String] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "<\(tag)>") {
            guard let close = rest[open.upperBound...].firstRange(of: "</\(tag)>") else { break }
            results.append(unescape(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return results
    }

    /// The text of the first `<tag>...</tag>`.
    package static func first(_ tag: String, in text: String) -> String? { all(tag, in: text).first }

    package static func unescape(_ text: String) -> String {
        text.replacing("&quot;", with: "\"").replacing("&apos;", with: "'").replacing("&lt;", with: "<")
            .replacing("&gt;", with: ">").replacing("&amp;", with: "&")
    }

    package static func escape(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
            .replacing("\"", with: "&quot;")
    }
}
