/// What a dump writer did, kept current while it runs so a failed write can still be reported.
public struct WriteStatistics: Equatable, Sendable {
    /// Pages (4 KiB, partial pages at segment edges included) in the input's PT_LOAD file data.
    public var totalPages: UInt64 = 0
    /// Pages written to the output.
    public var writtenPages: UInt64 = 0
    /// Written pages that point at an earlier written page with the same bytes instead of a copy of their own
    /// (kdump files).
    public var duplicatePages: UInt64 = 0
    /// Pages left out because every byte was zero (holes in the output).
    public var excludedZeroPages: UInt64 = 0
    /// Pages left out by the dump level's struct page filter (cache, user, free pages).
    public var excludedFilteredPages: UInt64 = 0
    /// Bytes written to the output (headers, notes and page data; holes not counted).
    public var bytesWritten: UInt64 = 0
    /// The size of the output file (holes included).
    public var outputSize: UInt64 = 0
    /// How the input was read: `mmap` or `read`.
    public var readMethod: String = "mmap"
    /// How the output was written, when the writer says: `direct`, `direct with a copy` (from a buffer, for
    /// memory direct I/O cannot pin), both, or `page cache`.
    public var writeMethod: String?

    public init() {}
}
