import CCrypto

/// SHA-256, incremental, by OpenSSL's libcrypto: the one SHA-256 of the project (initramfs cache, crash signatures,
/// upload manifests), in a module of its own so that none of those modules imports another for it. Arming hashes
/// the whole initramfs archive (~13 MB) on every start, so the hardware-speed implementation is what keeps a cached
/// re-arm fast.
public struct SHA256: @unchecked Sendable {
    /// An `EVP_MD_CTX`, copied before a shared one is changed (so the struct keeps value semantics).
    // Sound because the pointer is owned by this object alone, freed once in deinit, and only touched through a
    // uniquely referenced Context (update) or read without change (finalize copies it first).
    @safe private final class Context {
        let pointer: OpaquePointer

        init() {
            unsafe pointer = unsafe EVP_MD_CTX_new()!
            unsafe EVP_DigestInit_ex(pointer, EVP_sha256(), nil)
        }

        init(copying other: Context) {
            unsafe pointer = unsafe EVP_MD_CTX_new()!
            unsafe EVP_MD_CTX_copy_ex(pointer, other.pointer)
        }

        deinit { unsafe EVP_MD_CTX_free(pointer) }
    }

    private var context = Context()

    public init() {}

    /// Adds `bytes` to the message.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        // Sound because the context is uniquely referenced and outlives both updates, which read borrowed bytes.
        let pointer = unsafe context.pointer
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            _ = unsafe EVP_DigestUpdate(pointer, buffer.baseAddress, buffer.count)
        }
        if done == nil {
            let copy = Array(bytes)
            unsafe copy.withUnsafeBytes { buffer in
                _ = unsafe EVP_DigestUpdate(pointer, buffer.baseAddress, buffer.count)
            }
        }
    }

    /// Adds the UTF-8 bytes of `text`.
    public mutating func update(_ text: String) { update(Array(text.utf8)) }

    /// The 32-byte digest (the message so far; more may be added afterwards).
    public func finalize() -> [UInt8] {
        let copy = Context(copying: context)
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        // Sound because `copy` is alive for the call and `digest` holds the 32 bytes SHA-256 writes.
        unsafe EVP_DigestFinal_ex(copy.pointer, &digest, &length)
        return digest
    }

    /// The digest as 64 lower-case hexadecimal digits.
    public func hexDigest() -> String { Self.hexText(finalize()) }

    /// The hex digest of `bytes`.
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        var hash = SHA256()
        hash.update(bytes)
        return hash.hexDigest()
    }

    /// `bytes` as lower-case hexadecimal digits.
    private static func hexText(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
