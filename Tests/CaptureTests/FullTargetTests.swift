import Capture
import DumpFormat
import Foundation  // tests only: JSONSerialization checks the metadata
import SystemCalls
import TestSupport
import Testing
import VMCore

#if canImport(Glibc)
import Glibc
#endif

/// A dump target that fills up while the memory is written: a 2 MiB tmpfs (the tests run as root).
@Suite(.serialized) struct FullTargetTests {
    /// A core whose 3 MiB of memory has no zero page, so it cannot fit in the target.
    static func bigCore() -> SyntheticCore {
        var core = PrintkRingFixture.core()
        var memory = [UInt8](repeating: 0, count: 3 << 20)
        for index in memory.indices { memory[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) | 1 }
        core.segments.append(
            .init(
                virtualAddress: SyntheticCore.pageOffset + 0x0100_0000, physicalAddress: 0x0100_0000,
                data: memory))
        return core
    }

    @Test func fullTargetKeepsLogAndOutOfSpaceMetadataAndFlagsTheVmcore() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let input = try scratch.write("input", Self.bigCore().bytes())
        let target = scratch.path + "/target"
        try FileSystem.makeDirectory(target, mode: 0o700)
        #expect(
            mount("tmpfs", target, "tmpfs", 0, "size=2m,mode=0700") == 0, "mount tmpfs on \(target): errno \(errno)")
        defer { umount2(target, Int32(MNT_DETACH)) }
        let output = target + "/dump"
        var lines: [String] = []
        let outcome = DumpSaver(
            options: .init(
                vmcorePath: input, outputDirectory: output,
                dumpLevel: DumpLevel(1)!, windowSize: 64 << 10)
        ) { lines.append($0) }.run()

        let kept = output + ".incomplete"
        #expect(!outcome.isComplete)
        #expect(outcome.directory == kept)
        #expect(!FileSystem.exists(output))
        // The reserve is gone; what the capture saved is there.
        #expect(try FileSystem.listDirectory(kept).sorted() == ["dmesg.txt", "metadata.json", "vmcore"])
        #expect(try FileSystem.readText(kept + "/dmesg.txt") == PrintkRingFixture.expectedDmesg)
        let data = Data(try FileSystem.readBytes(kept + "/metadata.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["status"] as? String == "incomplete")
        let reason = try #require(json["incomplete_reason"] as? String)
        #expect(reason == "cannot save the memory: pwrite \(kept)/vmcore: No space left on device (ENOSPC)")
        // The partial vmcore says it is incomplete, as makedumpfile's DUMP_ELF_INCOMPLETE does.
        let header = try FileSystem.readBytes(kept + "/vmcore").prefix(64)
        #expect(header.count == 64)
        #expect(Array(header[48..<52]) == [1, 0, 0, 0])
        #expect(lines.contains("error: " + reason))
        #expect(lines.last == "incomplete dump kept in \(kept): \(reason)")
    }

    @Test func reserveIsAllocatedAndReleased() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let reserve = SpaceReserve.claim(in: scratch.path, bytes: 256 << 10)
        #expect(reserve.problem == nil)
        #expect(reserve.bytes == 256 << 10)
        let status = try #require(try FileSystem.status(scratch.path + "/" + SpaceReserve.fileName))
        #expect(status.size == 256 << 10)
        #expect(status.permissions == 0o600)
        reserve.release()
        #expect(!FileSystem.exists(scratch.path + "/" + SpaceReserve.fileName))
    }

    @Test func reserveOnAFullTargetReportsWhy() throws {
        let scratch = try TemporaryDirectory("vmcore")
        let target = scratch.path + "/target"
        try FileSystem.makeDirectory(target, mode: 0o700)
        #expect(mount("tmpfs", target, "tmpfs", 0, "size=64k") == 0, "mount tmpfs on \(target): errno \(errno)")
        defer { umount2(target, Int32(MNT_DETACH)) }
        let reserve = SpaceReserve.claim(in: target, bytes: 1 << 20)
        #expect(reserve.bytes == 0)
        #expect(reserve.path == nil)
        #expect(
            reserve.problem
                == "posix_fallocate 1048576 bytes \(target)/.space-reserve: No space left on device (ENOSPC)")
        #expect(!FileSystem.exists(target + "/" + SpaceReserve.fileName))
    }
}
