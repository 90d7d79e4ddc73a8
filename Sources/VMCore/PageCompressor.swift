import CZlib
import CZstd

/// How pages of a kdump-compressed dump are compressed, with the `page_desc.flags` bit readers know it by.
public enum PageCompression: String, CaseIterable, Sendable {
    /// zstd level 1 (`DUMP_DH_COMPRESSED_ZSTD`, read by makedumpfile 1.7+, crash 8+, libkdumpfile).
    case zstd
    /// zlib level 1 (`DUMP_DH_COMPRESSED_ZLIB`, read by every kdump reader).
    case zlib
    /// Pages stored as they are.
    case none

    /// The `disk_dump_header.status` and `page_desc.flags` bit (0 for `none`).
    public var flag: UInt32 {
        switch self {
        case .zstd: 0x20
        case .zlib: 0x1
        case .none: 0
        }
    }

    /// Why a name is not accepted, e.g. `lz4`, which no kdump reader can decode.
    public static func problem(with name: String) -> String? {
        if PageCompression(rawValue: name) != nil { return nil }
        if name == "lz4" {
            return "compression lz4 cannot be used for kdump-compressed dumps: the format has no LZ4 page flag, so "
                + "makedumpfile, crash and libkdumpfile could not read them; use zstd (faster and smaller) or zlib"
        }
        return "unknown compression '\(name)' (supported: zstd, zlib, none)"
    }
}

/// Compresses one page at a time into a caller's buffer; one per thread (it owns a zstd context).
final class PageCompressor {
    let compression: PageCompression
    private var context: OpaquePointer?

    /// The most bytes one compressed page of `pageSize` bytes can take.
    static func bound(pageSize: Int) -> Int {
        max(Int(ZSTD_compressBound(pageSize)), Int(compressBound(uLong(pageSize))), pageSize)
    }

    init(_ compression: PageCompression) {
        self.compression = compression
        if compression == .zstd { context = ZSTD_createCCtx() }
    }

    deinit { if let context { ZSTD_freeCCtx(context) } }

    /// Compresses `page` into `output` (at least `bound` bytes); returns the size, or nil when compression failed or
    /// did not make the page smaller (the page is then stored raw).
    func compress(_ page: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        switch compression {
        case .none:
            return nil
        case .zstd:
            guard let context else { return nil }
            let size = ZSTD_compressCCtx(context, output, capacity, page.baseAddress, page.count, 1)
            guard ZSTD_isError(size) == 0, size < page.count else { return nil }
            return size
        case .zlib:
            var size = uLongf(capacity)
            let status = compress2(output.assumingMemoryBound(to: Bytef.self), &size,
                page.baseAddress!.assumingMemoryBound(to: Bytef.self), uLong(page.count), 1)
            guard status == Z_OK, Int(size) < page.count else { return nil }
            return Int(size)
        }
    }
}
