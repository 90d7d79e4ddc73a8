import Digest
import SystemCalls

/// A request body read from a pipe to its end, of a length nobody knows in advance (the capture kernel's SFTP
/// upload of the vmcore as it is written). With an end mark, the stream must end with those bytes, which are not
/// sent: they are held back until more data or the end shows what they are, so a writer that died midway fails the
/// transfer instead of leaving a short file that looks whole. The SHA-256 and size for manifest.json are taken from
/// the bytes as they pass; memory stays at one read's worth.
package final class StreamSource {
    private let stream: FileDescriptor
    private let path: String
    private let endMark: [UInt8]
    /// Bytes read and not yet handed out; its last `endMark.count` bytes may be the mark.
    private var window: [UInt8] = []
    /// The end was read and the mark found and dropped: the whole window is data.
    private var ended = false
    private var digest = SHA256()
    /// Bytes handed out so far.
    package private(set) var size: UInt64 = 0

    /// The size of one read from the pipe.
    static let readSize = 1 << 16

    package init(descriptor: Int32, path: String, endMark: [UInt8] = []) {
        self.stream = FileDescriptor(rawValue: descriptor, path: path)
        self.path = path
        self.endMark = endMark
    }

    /// The SHA-256 of the bytes handed out, once the transfer is over.
    package var sha256: String { digest.hexDigest() }

    /// Fills the front of `buffer`: the number of bytes, 0 at the end of the data; throws when the stream cannot be
    /// read or ends without its end mark.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(UploadError) -> Int {
        // Each pass reads more or hands out bytes; reads are bounded by the stream's end.
        while true {
            let available = ended ? window.count : window.count - endMark.count
            if available > 0 || ended {
                let count = min(buffer.count, max(0, available))
                if count == 0 { return 0 }
                // Sound because `0 < count <= buffer.count` and `count <= window.count`: both regions hold it.
                unsafe window.withUnsafeBytes {
                    unsafe buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count)
                }
                digest.update(window[..<count])
                window.removeFirst(count)
                size += UInt64(count)
                return count
            }
            var chunk = [UInt8](repeating: 0, count: Self.readSize)
            let got: Int
            do {
                // Sound because the read fills at most the borrowed chunk's count bytes.
                got = try unsafe chunk.withUnsafeMutableBytes { try unsafe stream.read(into: $0) }
            } catch { throw .localFile(path: path, message: "\(error)") }
            if got > 0 {
                window += chunk[..<got]
                continue
            }
            guard window.count >= endMark.count, Array(window.suffix(endMark.count)) == endMark else {
                throw .localFile(
                    path: path, message: "ended without its end mark: the writer stopped before the file was complete")
            }
            window.removeLast(endMark.count)
            ended = true
        }
    }
}
