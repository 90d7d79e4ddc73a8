import CZlib
import CZstd

/// How the archive is compressed: a codec the target kernel can unpack (`CONFIG_RD_*`).
public enum InitramfsCompression: String, Equatable, Sendable {
    case zstd, gzip, none

    /// zstd when the kernel config has `CONFIG_RD_ZSTD=y`, else gzip with `CONFIG_RD_GZIP=y`, else none
    /// (also when the config is unknown: the kernel always unpacks a plain cpio).
    public static func choose(kernelConfig: String?) -> InitramfsCompression {
        guard let kernelConfig else { return .none }
        // One pass over the bytes, no string per line: a distribution's config has ~9,000 lines, and at boot under
        // emulation building a set of them took 0.65 s of a warm arm.
        var zstd = false
        var gzip = false
        for line in kernelConfig.utf8.split(separator: UInt8(ascii: "\n")) {
            if line.elementsEqual("CONFIG_RD_ZSTD=y".utf8) { zstd = true }
            if line.elementsEqual("CONFIG_RD_GZIP=y".utf8) { gzip = true }
        }
        return zstd ? .zstd : gzip ? .gzip : .none
    }

    /// The zstd window: the kernel's initramfs unpacker allocates a buffer of the window size inside the
    /// crash reservation, so keep it at 1 MiB rather than the 8 MiB of the highest levels.
    public static let zstdWindowLog: Int32 = 20

    /// zstd level 3, not 19: arming at boot waits for this compression. On a 12.7 MB sample (oopsd-capture and
    /// Debian 6.1's ext4/virtio modules) on a loaded 2-core host, level 19 took 74.4 s for 3,784,737 bytes and
    /// level 3 2.95 s for 4,719,678: 0.9 MB more initramfs in the reservation for arming that is 25x faster.
    public static let zstdLevel: Int32 = 3

    /// Compresses `bytes`; the output depends only on the input (no timestamps, no names).
    public func compress(_ bytes: [UInt8]) throws(InitramfsError) -> [UInt8] {
        switch self {
        case .none: return bytes
        case .zstd: return try Self.zstd(bytes)
        case .gzip: return try Self.gzip(bytes)
        }
    }

    private static func zstd(_ input: [UInt8]) throws(InitramfsError) -> [UInt8] {
        // Sound because the context lives until the deferred free; error names are static strings.
        guard let context = unsafe ZSTD_createCCtx() else { throw .compression("ZSTD_createCCtx failed") }
        defer { unsafe ZSTD_freeCCtx(context) }
        unsafe ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, zstdLevel)
        unsafe ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, zstdWindowLog)
        unsafe ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        // Sound because the buffers are Swift arrays alive for the whole call; sizes are their counts.
        let written = unsafe output.withUnsafeMutableBytes { out in
            unsafe input.withUnsafeBytes { inp in
                unsafe ZSTD_compress2(context, out.baseAddress, out.count, inp.baseAddress, inp.count)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw unsafe .compression("zstd: " + String(cString: ZSTD_getErrorName(written)))
        }
        output.removeLast(output.count - written)
        return output
    }

    private static func gzip(_ input: [UInt8]) throws(InitramfsError) -> [UInt8] {
        // Sound because the stream's buffer pointers are set and used only inside both borrows, with their counts.
        var stream = unsafe z_stream()
        // windowBits 15 + 16: a gzip wrapper with mtime 0 and no file name.
        let initResult = unsafe deflateInit2_(
            &stream, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initResult == Z_OK else { throw .compression("deflateInit2 failed (\(initResult))") }
        defer { unsafe deflateEnd(&stream) }
        var output = unsafe [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        var input = input
        let result = unsafe input.withUnsafeMutableBufferPointer { inp in
            unsafe output.withUnsafeMutableBufferPointer { out in
                // Both buffers outlive the single deflate call that reads and writes them.
                unsafe stream.next_in = inp.baseAddress
                unsafe stream.avail_in = uInt(inp.count)
                unsafe stream.next_out = out.baseAddress
                unsafe stream.avail_out = uInt(out.count)
                return unsafe deflate(&stream, Z_FINISH)
            }
        }
        guard result == Z_STREAM_END else { throw .compression("deflate did not finish (\(result))") }
        unsafe output.removeLast(output.count - Int(stream.total_out))
        return output
    }
}
