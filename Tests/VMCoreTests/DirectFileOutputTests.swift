import DumpFormat
import SystemCalls
import TestSupport
import Testing
import VMCore

/// The capture writes ELF vmcores with `O_DIRECT` where it can: whatever path each write takes (direct from the
/// caller's memory, direct through the aligned copy, or the page cache), the file must hold exactly the bytes
/// written, where they were written.
@Suite struct DirectFileOutputTests {
    /// Whether the scratch directory's file system takes `O_DIRECT` at all (tmpfs before Linux 6.6 does not).
    static func supportsDirect(_ path: String) throws -> Bool {
        let probe = try FileDescriptor.open(path, [.readWrite, .create, .exclusive], mode: 0o600)
        defer { try? probe.close() }
        guard let direct = probe.reopenedForDirectWrites() else { return false }
        try direct.close()
        return true
    }

    /// Aligned and unaligned memory, offsets and lengths, a partial last block, and a small rewrite inside a block
    /// written directly (as the ELF writer clears its incomplete flag): read back, the file equals the bytes as
    /// written in order, and the metadata's write method names the paths taken.
    @Test func everyWriteLandsWhereItWasAskedWhicheverPathItTakes() throws {
        let scratch = try TemporaryDirectory("direct")
        let direct = try Self.supportsDirect(scratch.path + "/probe")
        let path = scratch.path + "/vmcore"
        let file = try FileDescriptor.open(path, [.readWrite, .create, .exclusive], mode: 0o600)
        var expected = [UInt8](repeating: 0, count: 3 << 20)
        func pattern(_ count: Int, _ seed: UInt8) -> [UInt8] {
            (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
        }
        let aligned = UnsafeMutableRawBufferPointer.allocate(byteCount: (2 << 20) + 8192, alignment: 4096)
        defer { aligned.deallocate() }
        let big = pattern(aligned.count, 7)
        aligned.copyBytes(from: big)
        // Memory 16 bytes past a page boundary, never aligned: an array's elements can be, by chance (about one
        // heap block in 256), and would then go out directly, uncopied.
        let unaligned = UnsafeMutableRawBufferPointer.allocate(byteCount: (64 << 10) + 16, alignment: 4096)
        defer { unaligned.deallocate() }
        do {
            let output = DirectFileOutput(file)
            func write(_ bytes: [UInt8], at offset: Int) throws {
                let view = UnsafeMutableRawBufferPointer(rebasing: unaligned[16..<16 + bytes.count])
                view.copyBytes(from: bytes)
                try output.writeAll(UnsafeRawBufferPointer(view), atOffset: UInt64(offset))
                expected.replaceSubrange(offset..<offset + bytes.count, with: bytes)
            }
            try write(pattern(11196, 1), at: 0)  // unaligned memory: whole blocks copied, the rest cached
            try output.writeAll(UnsafeRawBufferPointer(aligned), atOffset: 16384)  // page-aligned memory: direct
            expected.replaceSubrange(16384..<16384 + big.count, with: big)
            try write(pattern(5000, 2), at: (2 << 20) + 40000)  // an unaligned offset: cached
            try write([0, 0, 0, 0], at: 48)  // inside a block written directly
            try write(pattern(4096 * 3 + 17, 3), at: (2 << 20) + 3 * 16384)
            try output.truncate(to: UInt64(expected.count))
            try output.sync()
            #expect(output.writeMethod == (direct ? "direct, direct with a copy" : "page cache"))
            #expect(
                output.directBytes + output.copiedBytes + output.cachedBytes
                    == UInt64(11196 + big.count + 5000 + 4 + 4096 * 3 + 17))
            if direct { #expect(output.directBytes == UInt64(big.count)) }
        }
        try file.close()
        let written = try FileDescriptor.openRegularFile(path).readToEnd()
        #expect(written.count == expected.count)
        // The first byte that differs, if any (not the arrays: 3 MiB each).
        #expect(written.indices.first { $0 >= expected.count || written[$0] != expected[$0] } == nil)
    }

    /// The ELF writer through `DirectFileOutput` makes the very file it makes through the page cache.
    @Test(arguments: [4096, 64 << 20])
    func elfWriterMakesTheSameFileEitherWay(windowSize: Int) throws {
        var synthetic = ELFCoreWriterTests.zeroRunCore(zeros: 40)
        var memory = [UInt8](repeating: 0, count: 700 * 4096 + 100)  // ends in a partial page
        for index in stride(from: 0, to: memory.count, by: 4096 + 513) {
            memory[index] = UInt8(truncatingIfNeeded: index)
        }
        synthetic.segments.append(
            .init(virtualAddress: SyntheticCore.pageOffset + 0x0400_0000, physicalAddress: 0x0400_0000, data: memory))
        let scratch = try TemporaryDirectory("direct")
        let input = try ELFCore.open(try scratch.write("input", synthetic.bytes()))
        defer { try? input.close() }
        var files: [[UInt8]] = []
        for useDirect in [false, true] {
            let path = scratch.path + "/vmcore-\(useDirect)"
            let file = try FileDescriptor.open(path, [.readWrite, .create, .exclusive, .noFollow], mode: 0o600)
            var statistics = WriteStatistics()
            let writer = ELFCoreWriter(windowSize: windowSize, readBufferSize: 4096)
            if useDirect {
                try writer.write(input, to: DirectFileOutput(file), excludeZeroPages: true, statistics: &statistics)
            } else {
                try writer.write(input, to: file, excludeZeroPages: true, statistics: &statistics)
            }
            try file.close()
            files.append(try FileDescriptor.openRegularFile(path).readToEnd())
        }
        #expect(files[0].count > 700 * 4096)
        #expect(files[0].count == files[1].count)
        #expect(files[0].indices.first { $0 >= files[1].count || files[0][$0] != files[1][$0] } == nil)
        let output = try ELFCore.open(scratch.path + "/vmcore-true")
        defer { try? output.close() }
        #expect(try output.readPhysical(0x0400_0000, count: memory.count, what: "out") == memory)
    }
}
