import CCrypto
#if canImport(Glibc)
import Glibc
#endif

/// SHA-256 of a file, read in 4 MiB pieces (memory stays flat whatever the dump's size), by OpenSSL's libcrypto.
enum FileDigest {
    /// The lowercase hex SHA-256 of the file at `path`.
    static func sha256(path: String) throws(UploadError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .localFile(path: path, message: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard let digest = EVP_MD_CTX_new() else { throw .localFile(path: path, message: "EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(digest) }
        EVP_DigestInit_ex(digest, EVP_sha256(), nil)
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while true {
            // `buffer` holds `chunk` bytes; pread fills at most that.
            let got = pread(descriptor, buffer, chunk, offset)
            if got < 0 && errno == EINTR { continue }
            if got < 0 {
                throw .localFile(path: path, message: "read at offset \(offset): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            EVP_DigestUpdate(digest, buffer, got)
            offset += off_t(got)
        }
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(digest, &out, &length)
        return hex(out)
    }

    /// SHA-256 of `bytes` in lowercase hex.
    static func sha256(_ bytes: [UInt8]) -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        bytes.withUnsafeBytes { raw in
            _ = EVP_Digest(raw.baseAddress, raw.count, &out, &length, EVP_sha256(), nil)
        }
        return hex(out)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
