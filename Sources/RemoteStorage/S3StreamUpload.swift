import Digest
import SystemCalls

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
    /// Bytes the stream must end with (`oopsd-capture`'s streams), not stored; nil: the stream's end is its end.
    package var endMark: [UInt8]?
    /// Told about each part sent: (part number, bytes so far).
    package var onPart: (Int, UInt64) -> Void = { _, _ in }

    package init(client: S3Client, key: String, partSize: Int) {
        self.client = client
        self.key = key
        self.partSize = max(partSize, Int(UploadTarget.minimumPartSize))
    }

    /// Reads `descriptor` to its end and stores what it held as the object. With `endMark`, the stream must end
    /// with those bytes (not stored): a stream cut short by a writer that died is then refused, and its multipart
    /// upload aborted, instead of being stored as if whole.
    package func upload(from descriptor: Int32) throws(UploadError) -> Stored {
        let markLength = endMark?.count ?? 0
        // A part, and the end mark's length beyond it: the last bytes are only known to be data once more follow.
        var buffer = [UInt8](repeating: 0, count: partSize + markLength)
        var digest = SHA256()
        var total: UInt64 = 0
        let backoff = Backoff(attempts: attempts)
        var filled = try fill(&buffer, from: 0, descriptor)
        var atEnd = filled < buffer.count
        if atEnd {
            let length = try dataLength(buffer, filled: filled)
            digest.update(buffer[..<length])
            let body = RequestBody.bytes(Array(buffer[..<length]))
            _ = try backoff.run { () throws(UploadError) in try client.putObject(key: key, body: body) }
            return Stored(size: UInt64(length), sha256: digest.hexDigest(), parts: 0)
        }
        let uploadID = try backoff.run { () throws(UploadError) in try client.createMultipartUpload(key: key) }
        var parts: [(number: Int, etag: String)] = []
        do {
            while true {
                let length = atEnd ? try dataLength(buffer, filled: filled) : partSize
                if length > 0 {
                    let number = parts.count + 1
                    let body = RequestBody.bytes(Array(buffer[..<length]))
                    let etag = try backoff.run { () throws(UploadError) in
                        try client.uploadPart(key: key, uploadID: uploadID, number: number, body: body)
                    }
                    parts.append((number, etag))
                    digest.update(buffer[..<length])
                    total += UInt64(length)
                    onPart(number, total)
                }
                if atEnd { break }
                // What followed the part moves to the front; the rest of the buffer is read anew.
                let carried = filled - partSize
                // Sound because `carried <= markLength < partSize`: both ranges are inside `buffer` and apart.
                unsafe buffer.withUnsafeMutableBytes { raw in
                    unsafe raw.baseAddress!.copyMemory(from: raw.baseAddress! + partSize, byteCount: carried)
                }
                filled = try carried + fill(&buffer, from: carried, descriptor)
                atEnd = filled < buffer.count
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

    /// The data bytes of the last `filled` bytes read: all of them, or without the end mark, which must be there.
    private func dataLength(_ buffer: [UInt8], filled: Int) throws(UploadError) -> Int {
        guard let endMark else { return filled }
        guard filled >= endMark.count, Array(buffer[(filled - endMark.count)..<filled]) == endMark else {
            throw .localFile(
                path: "the stream of \(key)",
                message: "ended without its end mark: the writer stopped before the file was complete")
        }
        return filled - endMark.count
    }

    /// Reads into `buffer` from `start` until it is full or the stream ends; the number of bytes read.
    private func fill(_ buffer: inout [UInt8], from start: Int, _ descriptor: Int32) throws(UploadError) -> Int {
        let stream = FileDescriptor(rawValue: descriptor, path: "the stream of \(key)")
        var filled = start
        while filled < buffer.count {
            let got: Int
            do {
                // Sound because `filled < buffer.count`: the read fills the rest of the borrowed buffer, no more.
                got = try unsafe buffer.withUnsafeMutableBytes { raw in
                    try unsafe stream.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                }
            } catch { throw .localFile(path: "the stream of \(key)", message: "\(error)") }
            if got == 0 { break }
            filled += got
        }
        return filled - start
    }
}
