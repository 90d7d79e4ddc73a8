/// A file written at any offset, carried by a stream that only moves forward: makedumpfile's flattened format
/// (`makedumpfile -F`). The stream starts with a 4096-byte header (`makedumpfile`, type 1, version 1), then each
/// write is a block: its offset and length (big-endian 64-bit), then its bytes; an offset and length of -1 end it.
/// A later block over the same bytes wins. `makedumpfile -R FILE < STREAM` rebuilds the file, and libkdumpfile
/// (drgn, crash through it) reads the stream as it is.
///
/// The kdump writer fills its page table after the pages it points at and marks the header complete last; through
/// this output it can send a kdump-compressed file to the network as it is made.
public final class FlattenedOutput: DumpOutput {
    /// The size of the stream's header.
    public static let headerSize = 4096
    /// The header's signature (NUL-padded to 16 bytes).
    public static let signature = "makedumpfile"

    /// A write the format cannot carry.
    public struct Failure: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String

        public init(description: String) { self.description = description }
    }

    private let stream: any DumpOutput
    /// Bytes sent to the stream so far.
    public private(set) var streamPosition: UInt64 = 0
    /// The size of the file the blocks so far describe.
    public private(set) var fileSize: UInt64 = 0
    private var ended = false

    /// Starts the stream on `stream` (which must accept writes at its end) with the header.
    public init(stream: any DumpOutput) throws {
        self.stream = stream
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        header.replaceSubrange(0..<Self.signature.utf8.count, with: Array(Self.signature.utf8))
        header.replaceSubrange(16..<24, with: Self.bigEndian(1))  // type: flattened
        header.replaceSubrange(24..<32, with: Self.bigEndian(1))  // version
        try send(header)
    }

    /// Bytes once sent can be written again (a later block wins): not a stream to the writer.
    public var isStream: Bool { false }

    public func writeAll(_ buffer: UnsafeRawBufferPointer, atOffset offset: UInt64) throws {
        guard !ended else { throw Failure(description: "flattened stream: a write after its end mark") }
        let count = UInt64(buffer.count)
        guard count > 0 else { return }
        guard offset < UInt64(Int64.max) - count else {
            throw Failure(description: "flattened stream: offset \(offset) out of range")
        }
        try send(Self.bigEndian(Int64(offset)) + Self.bigEndian(Int64(count)))
        // Sound because the stream reads only the caller's buffer, within its count, during the call.
        try unsafe stream.writeAll(buffer, atOffset: streamPosition)
        streamPosition += count
        fileSize = max(fileSize, offset + count)
    }

    /// Extends the file to `size` with a zero byte at its end (the rebuilt file is sparse up to it); a file cannot
    /// be shortened once its blocks are sent.
    public func truncate(to size: UInt64) throws {
        guard size >= fileSize else {
            throw Failure(description: "flattened stream: cannot shorten to \(size) bytes, \(fileSize) were sent")
        }
        if size > fileSize { try writeAll([0], atOffset: size - 1) }
    }

    public func sync() throws {}

    /// Sends the end mark; nothing can be written after it.
    public func finish() throws {
        guard !ended else { return }
        try send(Self.bigEndian(-1) + Self.bigEndian(-1))
        ended = true
    }

    private func send(_ bytes: [UInt8]) throws {
        try stream.writeAll(bytes, atOffset: streamPosition)
        streamPosition += UInt64(bytes.count)
    }

    static func bigEndian(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> (56 - 8 * $0)) }
    }
}
