import Capture
import Testing

/// A capture kernel that could not unpack its whole initramfs says so once in its log; the capture reads that line
/// to say why a file of the initramfs is missing or cannot be executed.
@Suite struct InitramfsUnpackTests {
    @Test func findsTheKernelsReasonInItsLog() {
        // As klogctl(SYSLOG_ACTION_READ_ALL) returns them: syslog level, then the timestamp (Debian 6.1 at 160M).
        let log = """
            <6>[    1.275931] Trying to unpack rootfs image as initramfs...
            <0>[    2.303060] Initramfs unpacking failed: write error
            <6>[    2.311900] Freeing initrd memory: 17012K

            """
        #expect(InitramfsUnpack.failure(inKernelLog: log) == "write error")
    }

    @Test func readsTheReasonOfAKernelWithRamdiskSupportBuiltIn() {
        let log = "<6>[    2.1] rootfs image is not initramfs (junk in compressed archive); looks like an initrd\n"
        #expect(InitramfsUnpack.failure(inKernelLog: log) == "junk in compressed archive")
    }

    @Test func aWholeUnpackIsNoFailure() {
        let log = """
            <6>[    1.831873] Trying to unpack rootfs image as initramfs...
            <6>[    3.401216] Freeing initrd memory: 17012K
            """
        #expect(InitramfsUnpack.failure(inKernelLog: log) == nil)
        #expect(InitramfsUnpack.failure(inKernelLog: "") == nil)
    }

    @Test func theUploadersExecveErrorIsNamed() {
        let said = "oopsd-capture-upload could not be started: execve failed with errno 26"
        #expect(CaptureUploader.naming(said) == said + " (Text file busy)")
        #expect(CaptureUploader.naming("curl: (7) Failed to connect") == "curl: (7) Failed to connect")
        #expect(CaptureUploader.naming("execve failed with errno x") == "execve failed with errno x")
    }
}
