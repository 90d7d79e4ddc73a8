import Digest

#if canImport(Glibc)
import Glibc
#endif

/// One object uploaded from a stream whose length is not known in advance (a pipe from the capture): read a part's
/// worth into one buffer, send it, read the next. Memory stays at one part whatever the size of the object; a
/// stream shorter than one part is sent with PutObject, a longer one with a multipart upload, which is aborted when
/// a part cannot be sent (so the bucket keeps no orphan parts). The SHA-256 and size for manifest.json are taken
/// from the bytes as they pass.
package struct S3StreamUpload {
    /// What was stored.
    package struct Stored: Equatable {
        package var size: UInt64
        package var sha256: String
        /// 0: PutObject.
        package var parts: Int
    }

    package var client: S3Client
    /// The object's key relative to the bucket.
    package var key: String
    /// Bytes per part, at least S3's minimum of 5 MiB (`UploadTarget.minimumPartSize`).
    package var partSize: Int
    /// Each request is tried this often (transient errors only, `Backoff`).
    package var attempts: Int = 4
    /// Told about each part sent: (part number, bytes so far).
    package var onPart: (Int, UInt64) -> Void = { _, _ in }

    package init(client: S3Client, key: String, partSize: Int) {
        self.client = client
        self.key = key
        self.partSize = max(partSize, Int(UploadTarget.minimumPartSize))
    }

    /// Reads `descriptor` to its end and stores what it held as the object.
    package func upload(from descriptor: Int32) throws(UploadError) -> Stored {
        var buffer = [UInt8](repeating: 0, count: partSize)
        var digest = SHA256()
        var total: UInt64 = 0
        let backoff = Backoff(attempts: attempts)
        var filled = try fill(&buffer, from: descriptor)
        digest.update(buffer[..<filled])
        total += UInt64(filled)
        if filled < partSize {
            let body = RequestBody.bytes(Array(buffer[..<filled]))
            _ = try backoff.run { () throws(UploadError) in try client.putObject(key: key, body: body) }
            return Stored(size: total, sha256: digest.hexDigest(), parts: 0)
        }
        let uploadID = try backoff.run { () throws(UploadError) in try client.createMultipartUpload(key: key) }
        var parts: [(number: Int, etag: String)] = []
        do {
            while filled > 0 {
                let number = parts.count + 1
                let body = RequestBody.bytes(Array(buffer[..<filled]))
                let etag = try backoff.run { () throws(UploadError) in
                    try client.uploadPart(key: key, uploadID: uploadID, number: number, body: body)
                }
                parts.append((number, etag))
                onPart(number, total)
                filled = try fill(&buffer, from: descriptor)
                digest.update(buffer[..<filled])
                total += UInt64(filled)
            }
            try backoff.run { () throws(UploadError) in
                try client.completeMultipartUpload(key: key, uploadID: uploadID, parts: parts)
            }
        } catch {
            try? client.abortMultipartUpload(key: key, uploadID: uploadID)
            throw error
        }
        return Stored(size: total, sha256: digest.hexDigest(), parts: parts.count)
    }

    /// Reads until `buffer` is full or the stream ends; the number of bytes read.
    private func fill(_ buffer: inout [UInt8], from descriptor: Int32) throws(UploadError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if got < 0 && errno == EINTR { continue }
            if got < 0 {
                throw .localFile(path: "the stream of \(key)", message: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            filled += got
        }
        return filled
    }
}
