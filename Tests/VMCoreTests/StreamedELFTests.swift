import DumpFormat
import SystemCalls
import TestSupport
import Testing
import VMCore

/// The ELF writer on a stream (the capture's network path): every write lands at or past the bytes already sent,
/// and what was sent is, byte for byte, the file the same writer makes on disk.
@Suite struct StreamedELFTests {
    /// A stream double: refuses writes behind its end and keeps the bytes.
    final class ForwardOnly: DumpOutput {
        var bytes: [UInt8] = []
        var backwards: [UInt64] = []
        var isStream: Bool { true }
        func writeAll(_ buffer: UnsafeRawBufferPointer, atOffset offset: UInt64) throws {
            if offset < UInt64(bytes.count) {
                backwards.append(offset)
                return
            }
            bytes += [UInt8](repeating: 0, count: Int(offset) - bytes.count)
            bytes += buffer
        }
        func truncate(to size: UInt64) throws {
            if size < UInt64(bytes.count) { backwards.append(size) }
            bytes += [UInt8](repeating: 0, count: max(0, Int(size) - bytes.count))
        }
        func sync() throws {}
    }

    @Test(arguments: [false, true])
    func streamMovesOnlyForwardAndEqualsTheFile(excludeZeroPages: Bool) throws {
        let synthetic = ELFCoreWriterTests.sparseCore()
        let scratch = try TemporaryDirectory("stream")
        let input = try ELFCore.open(try scratch.write("input", synthetic.bytes()))
        let path = scratch.path + "/vmcore"
        let file = try FileDescriptor.open(path, [.readWrite, .create, .exclusive, .noFollow], mode: 0o600)
        var statistics = WriteStatistics()
        try ELFCoreWriter(windowSize: 8192, readBufferSize: 4096)
            .write(input, to: file, excludeZeroPages: excludeZeroPages, statistics: &statistics)
        try file.close()
        let stream = ForwardOnly()
        var streamed = WriteStatistics()
        try ELFCoreWriter(windowSize: 8192, readBufferSize: 4096)
            .write(input, to: stream, excludeZeroPages: excludeZeroPages, statistics: &streamed)
        #expect(stream.backwards.isEmpty, "writes behind the end at \(stream.backwards)")
        #expect(stream.bytes == (try FileSystem.readBytes(path)))
        #expect(streamed.writtenPages == statistics.writtenPages)
    }
}
