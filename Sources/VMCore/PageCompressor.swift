import CZlib
import CZstd
import DumpFormat

/// Compresses one page at a time into a caller's buffer; one per thread (it owns a zstd context).
// Sound because the zstd context is created in init, freed only in deinit and never leaves the object.
@safe final class PageCompressor {
    let compression: PageCompression
    private var context: OpaquePointer?

    /// The most bytes one compressed page of `pageSize` bytes can take.
    static func bound(pageSize: Int) -> Int {
        max(Int(ZSTD_compressBound(pageSize)), Int(compressBound(uLong(pageSize))), pageSize)
    }

    init(_ compression: PageCompression) {
        self.compression = compression
        // Sound because the context is made here and freed once, in deinit.
        if compression == .zstd { unsafe context = unsafe ZSTD_createCCtx() }
    }

    // Sound because deinit runs once, after the last compress.
    deinit { if let context = unsafe context { unsafe ZSTD_freeCCtx(context) } }

    /// Compresses `page` into `output` (at least `bound` bytes); returns the size, or nil when compression failed or
    /// did not make the page smaller (the page is then stored raw).
    func compress(_ page: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        switch compression {
        case .none:
            return nil
        case .zstd:
            // Sound because zstd and zlib get `page`'s own size and `output`'s `capacity`, never more.
            guard let context = unsafe context else { return nil }
            let size = unsafe ZSTD_compressCCtx(context, output, capacity, page.baseAddress, page.count, 1)
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
