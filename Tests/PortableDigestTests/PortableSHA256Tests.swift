import Digest
import PortableDigest
import Testing

@Suite struct PortableSHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func standardVectors(message: String, digest: String) {
        var hash = PortableSHA256()
        hash.update(Array(message.utf8))
        #expect(hash.hexDigest() == digest)
    }

    /// Every length around the block and padding boundaries, fed in uneven pieces, against libcrypto.
    @Test func agreesWithLibcryptoInPieces() {
        var generator = SystemRandomNumberGenerator()
        for count in 0..<300 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var portable = PortableSHA256()
            var start = 0
            var piece = 1
            while start < count {
                let end = min(count, start + piece)
                portable.update(Array(bytes[start..<end]))
                start = end
                piece = piece * 3 % 97 + 1
            }
            #expect(portable.hexDigest() == SHA256.hex(bytes), "length \(count)")
        }
    }
}
