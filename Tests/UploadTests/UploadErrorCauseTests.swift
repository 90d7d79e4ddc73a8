import SystemCalls
import TestSupport
import Testing

@testable import Upload

/// A local file that cannot be used keeps the system call's error (call, path, errno) under Upload's own sentence.
@Suite struct UploadErrorCauseTests {
    @Test func missingFileToHashNamesOpenPathAndErrno() throws {
        let directory = try TemporaryDirectory("upload")
        let path = directory.path("vmcore")
        let error = try #require(throws: UploadError.self) { try FileDigest.sha256(path: path) }
        #expect(
            error
                == .file(
                    doing: "hashing a file of the dump",
                    cause: SystemError("open", path: path, errno: .noSuchFileOrDirectory)))
        #expect(error.description == "hashing a file of the dump: open \(path): No such file or directory (ENOENT)")
        #expect(!error.isTransient)
    }

    @Test func missingCredentialsFileNamesStatPathAndErrno() throws {
        let directory = try TemporaryDirectory("upload")
        let path = directory.path("s3.credentials")
        let error = try #require(throws: UploadError.self) { try S3Credentials.load(path, environment: [:]) }
        #expect(error.description == "reading the credentials: stat \(path): No such file or directory (ENOENT)")
    }

    @Test func secondLockOnADumpIsRefusedAndTheFirstHoldsIt() throws {
        let directory = try TemporaryDirectory("upload")
        let path = directory.path(".upload/s3.json.lock")
        let first = try DumpShipper.lock(path)
        defer { try? first.close() }
        let error = try #require(throws: UploadError.self) { try DumpShipper.lock(path) }
        #expect(
            error == .localFile(path: path, message: "another oopsd or oopsctl process is shipping this dump right now")
        )
    }

    @Test func lockInAnUncreatableDirectoryNamesOpenPathAndErrno() throws {
        let directory = try TemporaryDirectory("upload")
        try directory.write("file", "not a directory")
        let path = directory.path("file/s3.json.lock")
        let error = try #require(throws: UploadError.self) { try DumpShipper.lock(path) }
        #expect(error.description == "locking the dump for upload: open \(path): Not a directory (ENOTDIR)")
    }
}
