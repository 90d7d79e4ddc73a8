import Digest

#if canImport(Glibc)
import Glibc
#endif

/// SHA-256 of a file, read in 4 MiB pieces (memory stays flat whatever the dump's size), by the project's one
/// SHA-256 (`Digest`, OpenSSL's libcrypto).
enum FileDigest {
    /// The lowercase hex SHA-256 of the file at `path`.
    static func sha256(path: String) throws(UploadError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .localFile(path: path, message: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var hash = SHA256()
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while true {
            // `buffer` holds `chunk` bytes; pread fills at most that.
            let got = pread(descriptor, buffer.baseAddress, chunk, offset)
            if got < 0 && errno == EINTR { continue }
            if got < 0 {
                throw .localFile(path: path, message: "read at offset \(offset): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            hash.update(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            offset += off_t(got)
        }
        return hash.hexDigest()
    }

    /// SHA-256 of `bytes` in lowercase hex.
    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }
}
