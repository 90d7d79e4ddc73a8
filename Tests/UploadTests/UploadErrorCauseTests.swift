import RemoteStorage
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

/// SIGTERM during a multipart upload: no part starts after the stop request, so the state file holds only whole
/// parts and the next start resumes after them (the resume itself: Tests/Fleet, oopsd killed mid-upload).
@Suite struct UploadStopTests {
    @Test func noPartStartsAfterAStopRequest() {
        let stop = UploadStop()
        let run = MultipartRun(
            state: TargetState(url: "", remoteDirectory: "", partSize: 0), parts: [3, 4, 5], storedBytes: 0, stop: stop)
        #expect(run.next() == 3)
        #expect(run.next() == 4)
        stop.request()
        #expect(run.next() == nil)
        #expect(run.next() == nil)
    }

    @Test func stoppedIsNotRetriedAndSaysTheNextStartResumes() {
        let error = UploadError.stopped(target: "rgw")
        #expect(!error.isTransient)
        #expect(
            error.description == "rgw: stopped for the service's shutdown; the next start resumes from the parts stored"
        )
    }
}
