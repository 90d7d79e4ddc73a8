import SystemCalls

/// Where a memory writer puts the file it makes: a regular file (`FileDescriptor`) or a stream to the network
/// (the capture's `StreamedFile`), which accepts writes only at or past what it has already sent.
public protocol DumpOutput {
    /// Writes all of `buffer` at `offset`.
    func writeAll(_ buffer: UnsafeRawBufferPointer, atOffset offset: UInt64) throws
    /// Sets the file's length (a stream fills up to it with zeros).
    func truncate(to size: UInt64) throws
    /// Makes what was written durable (a stream: nothing to do until it ends).
    func sync() throws
    /// True when bytes once written cannot be written again: the writer then marks nothing incomplete first (a
    /// stream that ends early is never completed on the server, which says the same).
    var isStream: Bool { get }
    /// Starts writing `count` bytes from `offset` back to the device without waiting (a hint; nothing for a stream).
    func startWriteback(atOffset offset: UInt64, count: UInt64)
}

extension FileDescriptor: DumpOutput {
    public var isStream: Bool { false }
}

extension DumpOutput {
    public func startWriteback(atOffset offset: UInt64, count: UInt64) {}

    /// Writes all of `bytes` at `offset`.
    public func writeAll(_ bytes: [UInt8], atOffset offset: UInt64) throws {
        // Sound because the bytes are borrowed from the array only for the write.
        try unsafe bytes.withUnsafeBytes { (raw) throws in try unsafe writeAll(raw, atOffset: offset) }
    }
}
