import Digest
import RemoteStorage
import SystemCalls

/// SHA-256 of a file, read in 4 MiB pieces (memory stays flat whatever the dump's size), by the project's one
/// SHA-256 (`Digest`, OpenSSL's libcrypto).
enum FileDigest {
    /// The lowercase hex SHA-256 of the file at `path`.
    static func sha256(path: String) throws(UploadError) -> String {
        let descriptor: FileDescriptor
        do { descriptor = try FileDescriptor.open(path) } catch {
            throw .file(doing: "hashing a file of the dump", cause: SystemError(caught: error))
        }
        defer { try? descriptor.close() }
        var hash = SHA256()
        let chunk = 4 << 20
        // Sound because the buffer is freed by the defer only, and each read fills at most its `chunk` bytes.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { unsafe buffer.deallocate() }
        var offset: UInt64 = 0
        while true {
            let got: Int
            do { got = try unsafe descriptor.read(into: buffer, atOffset: offset) } catch {
                throw .file(doing: "hashing a file of the dump at offset \(offset)", cause: SystemError(caught: error))
            }
            if got == 0 { break }
            unsafe hash.update(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            offset += UInt64(got)
        }
        return hash.hexDigest()
    }

    /// SHA-256 of `bytes` in lowercase hex.
    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }
}
