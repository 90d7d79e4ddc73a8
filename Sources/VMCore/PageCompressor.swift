import CZlib
import CZstd
import DumpFormat

/// Compresses one page at a time into a caller's buffer; one per thread (it owns its zstd contexts).
///
/// zstd runs at level 1, as makedumpfile's `-z` does, with these changes: matches of 4 bytes instead of 5, which
/// makes the pages about 0.5 % smaller (`Benchmarks/page-codecs`); and, for a sparse page (at least 5/16 of its
/// 8-byte words zero, `isSparse`: 34 to 41 % of the non-zero pages of the level-31 baseline dumps of 2026-12-07),
/// literals stored as they are and level 3's match search. A sparse page has few literals, and Huffman-coding them
/// saves a few bytes while building the table costs about as much as the match search; level 3's search (zstd's
/// double hash, `dfast`) spends that time again on finding more matches. On those dumps of 6.1, 6.12, 7.2 and 7.3,
/// compressing the kept pages one at a time on one core (`OOPSD_CODEC_ROUNDS=15 Benchmarks/page-codecs`), this
/// made them 0.75 to 1.08 % smaller than level 1 with 4-byte matches and raw literals only on pages with 7/16 zero
/// words (the rule before), in the same CPU time (-1 to +1 %); level 3 on every page would take about 10 % more
/// time for 1.6 to 1.9 %. A dense page whose bytes look random (`looksIncompressible`) is not given to zstd at all
/// and is stored raw. Frames stay ordinary zstd frames, which every reader decodes.
// Sound because the zstd contexts are created in init, freed only in deinit and never leave the object.
@safe public final class PageCompressor {
    let compression: PageCompression
    private var context: OpaquePointer?
    private var sparseContext: OpaquePointer?

    /// The compression libraries linked, with their versions ("libzstd 1.5.7, zlib 1.2.13").
    public static var libraryVersions: String {
        // Sound because both return static NUL-terminated strings.
        unsafe "libzstd \(String(cString: ZSTD_versionString())), zlib \(String(cString: zlibVersion()))"
    }

    /// The most bytes one compressed page of `pageSize` bytes can take.
    static func bound(pageSize: Int) -> Int {
        max(Int(ZSTD_compressBound(pageSize)), Int(compressBound(uLong(pageSize))), pageSize)
    }

    init(_ compression: PageCompression) {
        self.compression = compression
        // Sound because the context is made here and freed once, in deinit.
        if compression == .zstd {
            unsafe context = Self.zstdContext(level: 1, literalsRaw: false)
            unsafe sparseContext = Self.zstdContext(level: 3, literalsRaw: true)
        }
    }

    // Sound because deinit runs once, after the last compress.
    deinit {
        if let context = unsafe context { unsafe ZSTD_freeCCtx(context) }
        if let context = unsafe sparseContext { unsafe ZSTD_freeCCtx(context) }
    }

    /// A zstd context at `level` with 4-byte matches; `literalsRaw`: literals stored without Huffman coding. The
    /// caller frees it (`ZSTD_freeCCtx`).
    static func zstdContext(level: Int32, literalsRaw: Bool) -> OpaquePointer? {
        // Sound because the context is new and the parameters are plain values.
        guard let context = unsafe ZSTD_createCCtx() else { return nil }
        unsafe ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        unsafe ZSTD_CCtx_setParameter(context, ZSTD_c_minMatch, 4)
        if literalsRaw {
            unsafe ZSTD_CCtx_setParameter(
                context, oopsd_ZSTD_c_literalCompressionMode, Int32(ZSTD_ps_disable.rawValue))
        }
        return unsafe context
    }

    /// Whether at least 5/16 of `page`'s 8-byte words are zero. One word in 32 is looked at first: with fewer than
    /// 3 of those 16 zero, the page is taken as dense without counting the rest (most pages of a level-1 dump, page
    /// cache and user data, end there).
    static func isSparse(_ page: UnsafeRawBufferPointer) -> Bool {
        let count = page.count / 8
        guard count >= 32, let base = page.baseAddress, Int(bitPattern: base) % 8 == 0 else { return false }
        // Sound because the first `count` aligned words lie inside `page`.
        let words = unsafe UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt64.self), count: count)
        var sampled = 0
        for index in stride(from: 0, to: count, by: count / 16) { sampled &+= unsafe words[index] == 0 ? 1 : 0 }
        guard sampled >= 3 else { return false }
        var zero = 0
        for index in 0..<count { zero &+= unsafe words[index] == 0 ? 1 : 0 }
        return zero >= count * 5 / 16
    }

    /// Whether `page` looks as if no compressor could shrink it (compressed or encrypted data): its bytes are as
    /// varied as random bytes. 64 bytes, 8 from every eighth 64-byte line, are looked at first, and only a page with
    /// at least 44 different values among them (random bytes: 56 on average) gets the full sample, 8 bytes from
    /// every line, which must hold at least 210 different values (random bytes: 221). On the level-31 baseline
    /// dumps this picks 3,556 to 6,176 pages, 97.6 to 99.7 % of which zstd stored raw anyway: 6 to 28 KB more per
    /// file, for zstd's time on them (about 4 µs a page).
    static func looksIncompressible(_ page: UnsafeRawBufferPointer) -> Bool {
        let lines = page.count / 64
        guard lines >= 64 else { return false }
        return unsafe distinctBytes(page, lineStride: 64 * (lines / 8)) >= 44
            && distinctBytes(page, lineStride: 64) >= 210
    }

    /// How many different byte values `page` holds in 8 bytes of every `lineStride` bytes: of the `i`th such
    /// stretch, the 8 from byte `8 * (i % 8)` on, so that a field that repeats every 64 or 128 bytes (an array of
    /// structs) is seldom looked at twice.
    private static func distinctBytes(_ page: UnsafeRawBufferPointer, lineStride: Int) -> Int {
        var seen: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        // Sound because each 8-byte load ends at `offset + 8 <= line * lineStride + 64 <= page.count`, and each bit
        // set is one of the 256 bits of `seen` (index `value >> 6` < 4).
        unsafe withUnsafeMutableBytes(of: &seen) { raw in
            let bits = unsafe raw.bindMemory(to: UInt64.self)
            var line = 0
            while line * lineStride + 64 <= page.count {
                let offset = line * lineStride + 8 * (line % 8)
                var word = unsafe page.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                for _ in 0..<8 {
                    let value = Int(truncatingIfNeeded: word & 0xff)
                    unsafe bits[value >> 6] |= 1 << UInt64(value & 63)
                    word >>= 8
                }
                line += 1
            }
        }
        return seen.0.nonzeroBitCount + seen.1.nonzeroBitCount + seen.2.nonzeroBitCount + seen.3.nonzeroBitCount
    }

    /// Compresses `page` into `output` (at least `bound` bytes); returns the size, or nil when compression failed,
    /// would not make the page smaller, or the page looks incompressible (the page is then stored raw).
    func compress(_ page: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        switch compression {
        case .none:
            return nil
        case .zstd:
            // Sound because zstd and zlib get `page`'s own size and `output`'s `capacity`, never more.
            let sparse = unsafe Self.isSparse(page)
            if unsafe !sparse && Self.looksIncompressible(page) { return nil }
            guard let context = unsafe sparse ? sparseContext : context else { return nil }
            let size = unsafe ZSTD_compress2(context, output, capacity, page.baseAddress, page.count)
            guard ZSTD_isError(size) == 0, size < page.count else { return nil }
            return size
        case .zlib:
            var size = uLongf(capacity)
            let status = unsafe compress2(
                output.assumingMemoryBound(to: Bytef.self), &size,
                page.baseAddress!.assumingMemoryBound(to: Bytef.self), uLong(page.count), 1)
            guard status == Z_OK, Int(size) < page.count else { return nil }
            return Int(size)
        }
    }
}
