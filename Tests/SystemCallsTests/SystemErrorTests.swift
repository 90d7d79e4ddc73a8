import SystemCalls
import TestSupport
import Testing

@Suite struct SystemErrorTests {
    @Test(arguments: [
        (Errno.permissionDenied, "EACCES", "Permission denied (EACCES)"),
        (Errno.noSuchFileOrDirectory, "ENOENT", "No such file or directory (ENOENT)"),
        (Errno.tooManySymbolicLinkLevels, "ELOOP", "Too many levels of symbolic links (ELOOP)"),
        (Errno.keyRejected, "EKEYREJECTED", "Key was rejected by service (EKEYREJECTED)"),
        (Errno(rawValue: 4095), "errno 4095", "Unknown error 4095 (errno 4095)"),
    ])
    func errnoHasTheCNameAndTheCLibrarysSentence(errno: Errno, name: String, description: String) {
        #expect(errno.name == name)
        #expect(errno.description == description)
    }

    @Test func failedOpenNamesCallPathAndErrno() throws {
        let directory = try TemporaryDirectory("system-calls")
        let path = directory.path("/missing")
        let error = try #require(throws: SystemError.self) { try FileDescriptor.open(path) }
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.description == "open \(path): No such file or directory (ENOENT)")
    }

    @Test func prefetchLeavesTheFileAsItIsAndNamesAMissingOne() throws {
        let directory = try TemporaryDirectory("system-calls")
        try directory.write("/file", "contents")
        try FileSystem.prefetch(directory.path("/file"))
        #expect(try FileSystem.readText(directory.path("/file")) == "contents")
        let missing = directory.path("/missing")
        let error = try #require(throws: SystemError.self) { try FileSystem.prefetch(missing) }
        #expect(error.description == "open \(missing): No such file or directory (ENOENT)")
    }

    @Test func symlinkWhereARegularFileIsExpectedIsAFileKindError() throws {
        let directory = try TemporaryDirectory("system-calls")
        try directory.write("/target", "x")
        try directory.link("/link", to: directory.path("/target"))
        let path = directory.path("/link")
        let error = try #require(throws: FileKindError.self) { try FileDescriptor.openRegularFile(path) }
        #expect(error.description == "\(path) is a symbolic link (not followed), not a regular file; not read")
    }

    @Test func caughtKeepsTheSystemErrorItself() throws {
        let directory = try TemporaryDirectory("system-calls")
        let path = directory.path("/missing/child")
        do {
            try FileSystem.makeDirectory(path)
            Issue.record("mkdir of a child of a missing directory succeeded")
        } catch {
            let kept = SystemError(caught: error)
            #expect(kept == SystemError("mkdir", path: path, errno: .noSuchFileOrDirectory))
        }
    }
}
