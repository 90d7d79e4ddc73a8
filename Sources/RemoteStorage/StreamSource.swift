import Digest
import SystemCalls

/// A request body read from a pipe to its end, of a length nobody knows in advance (the capture kernel's SFTP
/// upload of the vmcore as it is written). With an end mark, the stream must end with those bytes, which are not
/// sent: they are held back until more data or the end shows what they are, so a writer that died midway fails the
/// transfer instead of leaving a short file that looks whole. The SHA-256 and size for manifest.json are taken from
/// the bytes as they pass; memory stays at one buffer's worth.
package final class StreamSource {
    private let stream: FileDescriptor
    private let path: String
    private let endMark: [UInt8]
    /// Bytes read; those before `start` were handed out, the last `endMark.count` may be the mark.
    private var window: [UInt8] = []
    private var start = 0
    /// The end was read and the mark found and dropped: the whole window is data.
    private var ended = false
    private var digest = SHA256()
    /// Bytes handed out so far.
    package private(set) var size: UInt64 = 0

    /// The size of one read from the pipe (a pipe's default capacity).
    static let readSize = 1 << 16
    /// How long a read that has data to hand out waits for more to fill the caller's buffer, in milliseconds: a
    /// writer ahead of the network refills the pipe at once, a slower one is not waited for.
    static let fillWaitMilliseconds: Int32 = 20

    package init(descriptor: Int32, path: String, endMark: [UInt8] = []) {
        self.stream = FileDescriptor(rawValue: descriptor, path: path)
        self.path = path
        self.endMark = endMark
    }

    /// The SHA-256 of the bytes handed out, once the transfer is over.
    package var sha256: String { digest.hexDigest() }

    /// Fills `buffer` as far as the stream gives without a pause: the number of bytes, 0 at the end of the data;
    /// throws when the stream cannot be read or ends without its end mark.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(UploadError) -> Int {
        if start > 0 {
            window.removeFirst(start)
            start = 0
        }
        // Each pass reads or ends the stream; the first waits for data, later ones only briefly.
        while !ended && window.count < buffer.count + endMark.count {
            if window.count > endMark.count && !stream.hasInput(withinMilliseconds: Self.fillWaitMilliseconds) { break }
            try fill()
        }
        let available = ended ? window.count : window.count - endMark.count
        let count = min(buffer.count, max(0, available))
        if count == 0 { return 0 }
        // Sound because `0 < count <= buffer.count` and `count <= window.count`: both regions hold it.
        unsafe window.withUnsafeBytes {
            unsafe buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count)
        }
        digest.update(window[..<count])
        start = count
        size += UInt64(count)
        return count
    }

    /// One read from the stream onto the window's end; at the end of the stream, checks and drops the end mark.
    private func fill() throws(UploadError) {
        let old = window.count
        window.append(contentsOf: repeatElement(0, count: Self.readSize))
        let got: Int
        do {
            // Sound because the read fills at most the `readSize` bytes just appended.
            got = try unsafe window.withUnsafeMutableBytes {
                try unsafe stream.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[old...]))
            }
        } catch {
            window.removeLast(Self.readSize)
            throw .localFile(path: path, message: "\(error)")
        }
        window.removeLast(Self.readSize - got)
        if got > 0 { return }
        guard window.count >= endMark.count, Array(window.suffix(endMark.count)) == endMark else {
            throw .localFile(
                path: path, message: "ended without its end mark: the writer stopped before the file was complete")
        }
        window.removeLast(endMark.count)
        ended = true
    }
}
