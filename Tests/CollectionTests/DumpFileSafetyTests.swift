import Collection
import DumpFormat
import Foundation
import SystemCalls
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Dump directories are written by a crashed kernel's capture, or by anyone who can write to the dump directory:
/// links, FIFOs and wild values in them must not make oopsd or oopsctl block, follow, delete or trap.
@Suite struct DumpFileSafetyTests {
    /// A tree with a symlink to a directory outside it and a symlink to a file outside it.
    func treeWithLinks(in root: String) throws -> (tree: String, outside: String) {
        let outside = "\(root)/outside"
        try FileManager.default.createDirectory(atPath: "\(outside)/keep", withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: URL(fileURLWithPath: "\(outside)/keep/file"))
        let tree = "\(root)/dump"
        try FileManager.default.createDirectory(atPath: "\(tree)/sub/deeper", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(tree)/vmcore"))
        try Data("y".utf8).write(to: URL(fileURLWithPath: "\(tree)/sub/deeper/file"))
        try FileManager.default.createSymbolicLink(
            atPath: "\(tree)/sub/link-to-dir", withDestinationPath: "\(outside)/keep")
        try FileManager.default.createSymbolicLink(
            atPath: "\(tree)/link-to-file", withDestinationPath: "\(outside)/keep/file")
        #expect(mkfifo("\(tree)/sub/fifo", 0o600) == 0)
        return (tree, outside)
    }

    @Test func removeTreeRemovesLinksNotTheirTargets() throws {
        let root = try TemporaryDirectory("file-safety")
        let (tree, outside) = try treeWithLinks(in: root.path)
        try FileSystem.removeTree(tree)
        #expect(!FileSystem.exists(tree))
        #expect(try String(contentsOfFile: "\(outside)/keep/file", encoding: .utf8) == "secret")
    }

    @Test func removeTreeOfASymlinkRemovesTheLinkOnly() throws {
        let root = try TemporaryDirectory("file-safety")
        let (_, outside) = try treeWithLinks(in: root.path)
        try FileManager.default.createSymbolicLink(
            atPath: "\(root.path)/dump-link", withDestinationPath: "\(outside)/keep")
        try FileSystem.removeTree("\(root.path)/dump-link")
        #expect(!FileSystem.exists("\(root.path)/dump-link"))
        #expect(FileSystem.exists("\(outside)/keep/file"))
    }

    @Test func removeTreeRefusesATreeDeeperThanItsLimit() throws {
        let root = try TemporaryDirectory("file-safety")
        var path = "\(root.path)/deep"
        for level in 0...FileSystem.removeTreeDepthLimit { path += "/\(level)" }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        #expect(throws: SystemError.self) { try FileSystem.removeTree("\(root.path)/deep") }
        #expect(FileSystem.exists(path))
    }

    @Test func regularFilesOnly() throws {
        let root = try TemporaryDirectory("file-safety")
        let (tree, _) = try treeWithLinks(in: root.path)
        #expect(try FileSystem.readRegularFile("\(tree)/vmcore") == Array("x".utf8))
        // A FIFO is refused at once (O_NONBLOCK), not waited on; a link is not followed; a directory is no file.
        #expect(throws: FileKindError(path: "\(tree)/sub/fifo", kind: .other)) {
            try FileSystem.readRegularFile("\(tree)/sub/fifo")
        }
        #expect(throws: FileKindError(path: "\(tree)/link-to-file", kind: .symlink)) {
            try FileSystem.readRegularFile("\(tree)/link-to-file")
        }
        #expect(throws: FileKindError(path: "\(tree)/sub", kind: .directory)) {
            try FileSystem.readRegularFile("\(tree)/sub")
        }
        #expect(
            "\(FileKindError(path: "/var/crash/x/vmcore", kind: .other))"
                == "/var/crash/x/vmcore is a FIFO or socket, not a regular file; not read")
    }

    @Test func stackPointerNearTheTopOfTheAddressSpace() throws {
        // A saved RSP in the last THREAD_SIZE of the address space: its stack would end at 2^64.
        #expect(throws: StackScanError.stackOutsideAddressSpace(stackPointer: 0xffff_ffff_ffff_fff0)) {
            try StackScan.range(stackPointer: 0xffff_ffff_ffff_fff0)
        }
        #expect(
            try StackScan.range(stackPointer: 0xffff_c900_0001_3e58) == 0xffff_c900_0001_3e58..<0xffff_c900_0001_4000)
    }

    @Test func readErrorsKeepTheirCause() throws {
        let root = try TemporaryDirectory("file-safety")
        let dump = root.path("20260101T000000Z-aaaaaaaa")
        try FileSystem.makeDirectory(dump)
        #expect(mkfifo("\(dump)/metadata.json", 0o600) == 0)
        #expect(mkfifo("\(dump)/report.json", 0o600) == 0)
        let notRegular = FileKindError(path: "\(dump)/metadata.json", kind: .other)
        #expect(throws: DumpFileError.unreadable(path: "\(dump)/metadata.json", cause: .notRegular(notRegular))) {
            try DumpMetadata.read("\(dump)/metadata.json")
        }
        let entry = try #require(try DumpStore(directory: root.path).list().first)
        do {
            _ = try ReportFiles.read(entry)
            Issue.record("a FIFO named report.json was read")
        } catch let error as CollectionError {
            guard case .cannotRead(let path, .notRegular(let kind)) = error else {
                Issue.record("lost its cause: \(error)")
                return
            }
            #expect(path == "\(dump)/report.json" && kind.kind == .other)
            #expect("\(error)" == "cannot read \(dump)/report.json: \(kind)")
        }
        // A failed call keeps its errno and path for whoever wraps it.
        let failed = SystemError("open", path: "/x", errno: .noSuchFileOrDirectory)
        #expect(FileReadError(caught: failed).systemError == failed)
        #expect(FileReadError(caught: failed).description == failed.description)
    }
}
