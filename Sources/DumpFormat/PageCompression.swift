/// How pages of a kdump-compressed dump are compressed (`[Capture] Compression=`), with the `page_desc.flags`
/// bit readers know it by.
public enum PageCompression: String, CaseIterable, Equatable, Sendable {
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
