import Collection
import Foundation
import OopsConfig
import SystemCalls
import TestSupport
import Testing

/// A small tmpfs mounted for one test (the tests run as root, like the VM harness).
final class SmallFileSystem {
    let directory: TemporaryDirectory
    var path: String { directory.path }

    init(megabytes: Int) throws {
        directory = try TemporaryDirectory("collection")
        try SmallFileSystem.run(
            "/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", directory.path])
    }

    deinit { SmallFileSystem.unmount(directory.path) }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let status = try exitStatus(tool, arguments, quiet: false)
        guard status == 0 else {
            Issue.record(
                "\(tool) \(arguments.joined(separator: " ")) exited with \(status) (retention tests need root)")
            throw CocoaError(.fileWriteNoPermission)
        }
    }

    static func exitStatus(_ tool: String, _ arguments: [String], quiet: Bool) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        if quiet { process.standardError = FileHandle.nullDevice }
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Unmounts `path`. A child that another test forks while a file here is open (`CaptureChildTests` fork this
    /// process, one child living a second) holds the file system busy until it exits, so a busy unmount is tried
    /// again for up to 5 s, then detached (`umount -l`). A descriptor this process itself still holds there is a
    /// leak: an issue.
    static func unmount(_ path: String) {
        for _ in 0..<50 {
            if (try? exitStatus("/bin/umount", [path], quiet: true)) == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let held = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")
        }.filter { $0.hasPrefix(path + "/") }
        if !held.isEmpty { Issue.record("the test process still holds \(held) open on \(path)") }
        try? run("/bin/umount", ["-l", path])
    }

    /// Makes dump `name` crashed at `time` with a vmcore of `kib` KiB of non-zero bytes (so tmpfs allocates them).
    @discardableResult
    func makeDump(_ name: String, time: Int64, kib: Int, shippedTo: [String] = []) throws -> String {
        let dump = "\(path)/\(name)"
        try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: false)
        try Data(#"{"status":"complete","crash_time":\#(time)}"#.utf8).write(
            to: URL(fileURLWithPath: "\(dump)/metadata.json"))
        try Data(repeating: 0xa5, count: kib * 1024).write(to: URL(fileURLWithPath: "\(dump)/vmcore"))
        if !shippedTo.isEmpty {
            let targets = shippedTo.map { "\"\($0)\": {\"shipped\": true}" }.joined(separator: ", ")
            try Data("{\"targets\": {\(targets)}}".utf8).write(to: URL(fileURLWithPath: "\(dump)/upload-state.json"))
        }
        return dump
    }

    func remaining() throws -> [String] { try DumpStore(directory: path).list().map(\.id) }
}

@Suite(.serialized) struct RetentionTests {
    func policy(
        maxDumps: Int = 0, maxUse: String = "100%", keepFree: String = "0", deleteUnshipped: Bool = false
    )
        -> Retention.Policy
    {
        Retention.Policy(
            maxDumps: maxDumps, maxUse: ByteSize.parseSizeOrPercent(maxUse)!,
            keepFree: ByteSize.parseSizeOrPercent(keepFree)!, deleteUnshipped: deleteUnshipped)
    }

    @Test func maxDumpsDeletesOldestFirst() throws {
        let fs = try SmallFileSystem(megabytes: 8)
        // Names sort the other way round from crash times: the order must come from crash_time.
        let oldest = try fs.makeDump("d", time: 1_000, kib: 4)
        let older = try fs.makeDump("c", time: 2_000, kib: 4)
        try fs.makeDump("b", time: 3_000, kib: 4)
        try fs.makeDump("a", time: 4_000, kib: 4)
        let log = try Retention(policy: policy(maxDumps: 2)).enforce(on: DumpStore(directory: fs.path))
        #expect(
            log == [
                "deleted \(oldest) (8.0 KiB on disk, crashed 1970-01-01 00:16:40 UTC): 4 dumps exceed MaxDumps=2",
                "deleted \(older) (8.0 KiB on disk, crashed 1970-01-01 00:33:20 UTC): 3 dumps exceed MaxDumps=2",
            ])
        #expect(try fs.remaining() == ["b", "a"])
    }

    @Test func maxUseAsSize() throws {
        let fs = try SmallFileSystem(megabytes: 16)
        for (index, name) in ["a", "b", "c", "d"].enumerated() { try fs.makeDump(name, time: Int64(index), kib: 900) }
        // 4 x (900 KiB + 4 KiB metadata) = 3.5 MiB > 3 MiB; without the oldest, 2.6 MiB.
        let log = try Retention(policy: policy(maxUse: "3M")).enforce(on: DumpStore(directory: fs.path))
        #expect(log.count == 1)
        #expect(
            log.first?.hasPrefix(
                "deleted \(fs.path)/a (904.0 KiB on disk, crashed 1970-01-01 00:00:00 UTC): dumps use 3.5 MiB, more than MaxUse=3M (3.0 MiB)"
            ) == true, "\(log)")
        #expect(try fs.remaining() == ["b", "c", "d"])
    }

    @Test func maxUseAsPercentOfTheFileSystem() throws {
        let fs = try SmallFileSystem(megabytes: 10)
        for (index, name) in ["a", "b", "c"].enumerated() { try fs.makeDump(name, time: Int64(index), kib: 1024) }
        // 20% of 10 MiB = 2 MiB: two of the three 1 MiB dumps must go (each uses 1 MiB + 4 KiB).
        let log = try Retention(policy: policy(maxUse: "20%")).enforce(on: DumpStore(directory: fs.path))
        #expect(log.count == 2, "\(log)")
        #expect(try fs.remaining() == ["c"])
    }

    @Test func keepFreeIsHonoured() throws {
        let fs = try SmallFileSystem(megabytes: 8)
        for (index, name) in ["a", "b", "c", "d", "e"].enumerated() {
            try fs.makeDump(name, time: Int64(index), kib: 1024)
        }
        let before = try FileSystemSpace.of(fs.path)
        #expect(before.available < 4 * 1024 * 1024)
        let log = try Retention(policy: policy(keepFree: "50%")).enforce(on: DumpStore(directory: fs.path))
        let after = try FileSystemSpace.of(fs.path)
        #expect(after.available >= after.total / 2, "\(after)")
        #expect(log.count == 2, "\(log)")
        #expect(log.allSatisfy { $0.contains("less than KeepFree=50% (4.0 MiB)") })
        #expect(try fs.remaining() == ["c", "d", "e"])
    }

    @Test func unshippedDumpsAreKeptAndSaidSo() throws {
        let fs = try SmallFileSystem(megabytes: 8)
        let oldest = try fs.makeDump("a", time: 1, kib: 4)
        let shipped = try fs.makeDump("b", time: 2, kib: 4, shippedTo: ["s3", "sftp"])  // + 4 KiB upload-state.json
        try fs.makeDump("c", time: 3, kib: 4, shippedTo: ["s3"])  // only one of two targets: not shipped
        let newest = try fs.makeDump("d", time: 4, kib: 4)
        let retention = Retention(policy: policy(maxDumps: 1), uploadTargets: ["s3", "sftp"])
        let log = try retention.enforce(on: DumpStore(directory: fs.path))
        #expect(
            log == [
                "kept \(oldest): not yet shipped to s3, sftp and DeleteUnshipped=no, although 4 dumps exceed MaxDumps=1",
                "deleted \(shipped) (12.0 KiB on disk, crashed 1970-01-01 00:00:02 UTC): 4 dumps exceed MaxDumps=1",
                "kept \(fs.path)/c: not yet shipped to s3, sftp and DeleteUnshipped=no, although 3 dumps exceed MaxDumps=1",
                "kept \(newest): it is the newest dump, although 3 dumps exceed MaxDumps=1",
            ])
        #expect(try fs.remaining() == ["a", "c", "d"])

        let allowed = Retention(policy: policy(maxDumps: 1, deleteUnshipped: true), uploadTargets: ["s3", "sftp"])
        let second = try allowed.enforce(on: DumpStore(directory: fs.path))
        #expect(second.count == 2 && second.allSatisfy { $0.hasPrefix("deleted ") }, "\(second)")
        #expect(try fs.remaining() == ["d"])
    }

    @Test func theNewestDumpIsNeverDeletedToMakeRoom() throws {
        let fs = try SmallFileSystem(megabytes: 8)
        try fs.makeDump("a", time: 1, kib: 1024)
        let newest = try fs.makeDump("b", time: 2, kib: 2048)
        let log = try Retention(policy: policy(maxDumps: 0, maxUse: "1M")).enforce(on: DumpStore(directory: fs.path))
        #expect(log.count == 2, "\(log)")
        #expect(log.first?.hasPrefix("deleted \(fs.path)/a ") == true)
        #expect(log.last?.hasPrefix("kept \(newest): it is the newest dump, although dumps use ") == true)
        #expect(try fs.remaining() == ["b"])
    }

    @Test func noUploadTargetsMeansEverythingCountsAsShipped() throws {
        let fs = try SmallFileSystem(megabytes: 8)
        try fs.makeDump("a", time: 1, kib: 4)
        try fs.makeDump("b", time: 2, kib: 4)
        let log = try Retention(policy: policy(maxDumps: 1)).enforce(on: DumpStore(directory: fs.path))
        #expect(log.count == 1 && log[0].hasPrefix("deleted \(fs.path)/a "))
    }

    @Test func withinLimitsNothingHappens() throws {
        let fs = try SmallFileSystem(megabytes: 8)
        try fs.makeDump("a", time: 1, kib: 4)
        #expect(
            try Retention(policy: policy(maxDumps: 5, maxUse: "10%", keepFree: "15%")).enforce(
                on: DumpStore(directory: fs.path)) == [])
        #expect(try fs.remaining() == ["a"])
    }
}
