import Digest
import Initramfs
import SystemCalls
import TestSupport
import Testing

@Suite struct CompressionTests {
    @Test(arguments: [
        ("CONFIG_RD_GZIP=y\nCONFIG_RD_ZSTD=y\n", InitramfsCompression.zstd),
        ("CONFIG_RD_GZIP=y\n# CONFIG_RD_ZSTD is not set\n", .gzip),
        ("# CONFIG_RD_GZIP is not set\nCONFIG_RD_XZ=y\n", .none),
        // Whole lines only; the last one needs no newline.
        ("CONFIG_RD_ZSTD=yes\nXCONFIG_RD_ZSTD=y\nCONFIG_RD_GZIP=y", .gzip),
    ])
    func chosenFromKernelConfig(config: String, expected: InitramfsCompression) {
        #expect(InitramfsCompression.choose(kernelConfig: config) == expected)
    }

    @Test func unknownConfigMeansUncompressed() {
        #expect(InitramfsCompression.choose(kernelConfig: nil) == .none)
    }

    @Test(arguments: [(InitramfsCompression.zstd, "zstd -d -c"), (.gzip, "gzip -d -c")])
    func standardToolsDecompressItAndOutputIsStable(codec: InitramfsCompression, tool: String) throws {
        let input = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 / 7) &* 13) }
        let compressed = try codec.compress(input)
        #expect(compressed.count < input.count / 4)
        #expect(try codec.compress(input) == compressed)
        let scratch = try TemporaryDirectory("initramfs")
        try scratch.write("/in", compressed)
        let result = shell("\(tool) \(scratch.path)/in | sha256sum | cut -d' ' -f1")
        #expect(result.output == SHA256.hex(input) + "\n")
    }

    @Test func zstdFrameDeclaresTheSmallWindow() throws {
        let input = [UInt8](repeating: 1, count: 4 << 20)
        let scratch = try TemporaryDirectory("initramfs")
        try scratch.write("/in.zst", try InitramfsCompression.zstd.compress(input))
        // zstd -lv prints the window size of the frame; the kernel allocates that much to unpack it.
        let listing = shell("zstd -lv \(scratch.path)/in.zst 2>&1 | grep -i 'window'")
        #expect(listing.output.contains("Window Size: 1.000 MiB (1048576 B)"))
    }
}
