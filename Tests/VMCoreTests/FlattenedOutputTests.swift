import DumpFormat
import SystemCalls
import TestSupport
import Testing
import VMCore

/// The kdump format through a stream (the capture kernel's upload to `[Capture] Target=`): makedumpfile's
/// flattened format, which `makedumpfile -R` and libkdumpfile turn back into the file.
@Suite struct FlattenedOutputTests {
    /// A stream as the capture's upload pipe is: bytes only appended, a write behind the end refused.
    final class ForwardStream: DumpOutput {
        var bytes: [UInt8] = []
        struct Behind: Error {}
        var isStream: Bool { true }
        func writeAll(_ buffer: UnsafeRawBufferPointer, atOffset offset: UInt64) throws {
            guard offset == UInt64(bytes.count) else { throw Behind() }
            bytes += buffer
        }
        func truncate(to size: UInt64) throws { throw Behind() }
        func sync() throws {}
    }

    /// The file a flattened stream describes, rebuilt as `makedumpfile -R` does: each block written at its offset,
    /// until the end mark; nil when the stream is malformed or has no end mark.
    static func rebuild(_ stream: [UInt8]) -> [UInt8]? {
        func number(_ at: Int) -> Int64 {
            Int64(bitPattern: stream[at..<at + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
        guard stream.count >= 4096, Array(stream[0..<16]) == Array("makedumpfile".utf8) + [0, 0, 0, 0],
            number(16) == 1, number(24) == 1
        else { return nil }
        var file: [UInt8] = []
        var at = 4096
        while at + 16 <= stream.count {
            let (offset, size) = (number(at), number(at + 8))
            at += 16
            if offset == -1 { return at == stream.count && size == -1 ? file : nil }
            guard offset >= 0, size >= 0, at + Int(size) <= stream.count else { return nil }
            if file.count < Int(offset + size) { file += [UInt8](repeating: 0, count: Int(offset + size) - file.count) }
            file.replaceSubrange(Int(offset)..<Int(offset + size), with: stream[at..<at + Int(size)])
            at += Int(size)
        }
        return nil
    }

    /// The kdump writer's file through the flattened stream is, rebuilt, the very file it writes to disk, for
    /// every page compression; the stream only moves forward and ends with the end mark.
    @Test(arguments: PageCompression.allCases)
    func kdumpThroughTheStreamRebuildsToTheSameFile(compression: PageCompression) throws {
        let scratch = try TemporaryDirectory("flattened")
        let input = try ELFCore.open(try scratch.write("input", KdumpWriterTests.core().0.bytes()))
        defer { try? input.close() }
        let selection = PageSelector.select(input, level: DumpLevel(31)!)
        let path = scratch.path + "/vmcore.kdump"
        let file = try FileDescriptor.open(path, [.readWrite, .create, .exclusive], mode: 0o600)
        var statistics = WriteStatistics()
        let writer = KdumpWriter(compression: compression, threads: 2, batchPages: 2)
        try writer.write(input, selection: selection, excludeZeroPages: true, to: file, statistics: &statistics)
        try file.close()
        let expected = try FileDescriptor.open(path, .readOnly).readToEnd()

        let stream = ForwardStream()
        let flattened = try FlattenedOutput(stream: stream)
        var streamed = WriteStatistics()
        try writer.write(input, selection: selection, excludeZeroPages: true, to: flattened, statistics: &streamed)
        try flattened.finish()
        #expect(flattened.fileSize == UInt64(expected.count))
        #expect(flattened.streamPosition == UInt64(stream.bytes.count))
        #expect(Self.rebuild(stream.bytes) == expected)
        #expect(streamed.outputSize == statistics.outputSize)
        #expect(throws: FlattenedOutput.Failure.self) { try flattened.writeAll([1], atOffset: 0) }
    }

    /// A file cannot be shortened once its bytes are sent; extending it sends one zero byte at the new end.
    @Test func truncateExtendsButNeverShortens() throws {
        let stream = ForwardStream()
        let flattened = try FlattenedOutput(stream: stream)
        try flattened.writeAll([1, 2, 3], atOffset: 8)
        #expect(
            throws: FlattenedOutput.Failure(description: "flattened stream: cannot shorten to 10 bytes, 11 were sent")
        ) { try flattened.truncate(to: 10) }
        try flattened.truncate(to: 11)
        try flattened.truncate(to: 20)
        try flattened.finish()
        #expect(Self.rebuild(stream.bytes) == [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3] + [UInt8](repeating: 0, count: 9))
        #expect(stream.bytes.count == 4096 + (16 + 3) + (16 + 1) + 16)
    }
}
