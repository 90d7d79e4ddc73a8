import CShim
import DumpFormat
import SystemCalls
import VMCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The capture's side of `oopsd-capture-upload` (`[Capture] Target=s3://...` or `sftp://...`): each file of the dump goes to the
/// helper on a pipe, the memory as it is written (`StreamedFile`), nothing of it kept in memory or on disk; the
/// helper answers one `stored NAME SIZE SHA256 PARTS` line, which the manifest is made of, sent last.
public struct CaptureUploader: Sendable {

    /// What the server holds of one file: its manifest line.
    public struct Stored: Equatable, Sendable {
        public var name: String
        public var size: UInt64
        public var sha256: String
        /// `NAME SIZE SHA256`, as `--manifest` reads it.
        public var manifestLine: String { "\(name) \(size) \(sha256)" }
    }

    /// An upload that failed: the helper's own words.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The dot file of a dump directory that keeps the manifest line of `name` once the server holds it.
    public static func storedRecord(_ name: String) -> String { ".stored-" + name }

    public var helper: String
    /// The dump's ID (its directory name).
    public var dumpID: String
    /// Where the helper's answers are kept (tmpfs).
    public var scratch: String

    public init(
        helper: String = CaptureNetwork.uploaderPathInInitramfs, dumpID: String, scratch: String = "/run/oopsd-upload"
    ) {
        self.helper = helper
        self.dumpID = dumpID
        self.scratch = scratch
    }

    /// Sends the file at `path` as `name`.
    public func store(_ path: String, as name: String) throws(Failure) -> Stored {
        // Sound because `path` is bridged to a C string that lives for the call.
        let input = unsafe open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure(description: "\(SystemError("open", path: path, errno: errno))") }
        defer { close(input) }
        let pid = try start(["--file", name], input: input, tag: name)
        return try finish(pid: pid, tag: name, name: name)
    }

    /// Opens a stream that becomes `name` on the server.
    public func stream(_ name: String) throws(Failure) -> StreamedFile {
        // A helper that dies must not kill the writer with SIGPIPE: the write fails and says why.
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [-1, -1]
        // Sound because pipe2 fills the two-element local `fds`.
        guard unsafe oops_pipe_cloexec(&fds) == 0 else {
            throw Failure(description: "\(SystemError("pipe", errno: oops_errno()))")
        }
        let pid: pid_t
        do { pid = try start(["--file", name, "--end-mark"], input: fds[0], tag: name) } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[0])
        return StreamedFile(
            pipe: fds[1], name: name,
            finish: { () throws(Failure) -> Stored in
                try self.finish(pid: pid, tag: name, name: name)
            })
    }

    /// Sends manifest.json, listing `files` in order.
    public func storeManifest(_ files: [Stored]) throws(Failure) {
        let path = Path.join(scratch, "manifest.list")
        do { try FileSystem.writeAtomically(path, Array(files.map { $0.manifestLine + "\n" }.joined().utf8)) } catch {
            throw Failure(description: "\(error)")
        }
        // Sound because `path` is bridged to a C string that lives for the call.
        let input = unsafe open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure(description: "\(SystemError("open", path: path, errno: errno))") }
        defer { close(input) }
        let pid = try start(["--manifest"], input: input, tag: "manifest")
        _ = try finish(pid: pid, tag: "manifest", name: nil)
    }

    private func start(_ arguments: [String], input: Int32, tag: String) throws(Failure) -> pid_t {
        try? FileSystem.makeDirectory(scratch, mode: 0o700, parents: true)
        // Sound because the paths are bridged for each call; the strdup copies live until the deferred free.
        let out = unsafe open(Path.join(scratch, tag + ".out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let err = unsafe open(Path.join(scratch, tag + ".err"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer {
            if out >= 0 { close(out) }
            if err >= 0 { close(err) }
        }
        guard out >= 0, err >= 0 else {
            throw Failure(description: "\(SystemError("open", path: scratch, errno: errno))")
        }
        let argv = [helper, "--dump", dumpID] + arguments
        var pointers = unsafe argv.map { unsafe strdup($0) }
        unsafe pointers.append(nil)
        defer { for index in unsafe pointers.indices { unsafe free(pointers[index]) } }
        let pid = unsafe oops_spawn(helper, pointers, input, out, err)
        guard pid > 0 else { throw Failure(description: "\(SystemError("fork", path: helper, errno: oops_errno()))") }
        return pid
    }

    /// The spawned child's `... execve failed with errno 26` with the error's name added: `... errno 26 (Text file
    /// busy)`; any other line as it is.
    public static func naming(_ line: String) -> String {
        let words = line.split(separator: " ")
        guard line.contains("execve failed with errno "), let last = words.last, let number = Int32(last),
            number > 0, number < 4096
        else { return line }
        return unsafe line + " (\(String(cString: strerror(number))))"
    }

    private func finish(pid: pid_t, tag: String, name: String?) throws(Failure) -> Stored {
        var status: Int32 = 0
        // Sound because waitpid and the status decoder only fill locals passed in place.
        while unsafe waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let answer = (try? FileSystem.readText(Path.join(scratch, tag + ".out"))) ?? ""
        var code: Int32 = 0
        var signal: Int32 = 0
        _ = unsafe oops_wait_status(status, &code, &signal)
        guard signal == 0, code == 0 else {
            let said =
                ((try? FileSystem.readText(Path.join(scratch, tag + ".err"))) ?? "")
                .split(separator: "\n").last.map(String.init) ?? ""
            let how = signal != 0 ? "was killed by signal \(signal)" : "exited with status \(code)"
            throw Failure(description: said.isEmpty ? "oopsd-capture-upload \(how)" : Self.naming(said))
        }
        guard let name else { return Stored(name: "", size: 0, sha256: "") }
        for line in answer.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count >= 4, words[0] == "stored", words[1] == name, let size = UInt64(words[2]) {
                return Stored(name: name, size: size, sha256: String(words[3]))
            }
        }
        throw Failure(description: "oopsd-capture-upload stored \(name) without saying so")
    }
}

/// A file written to the network as it is made (`DumpOutput`): the pipe to `oopsd-capture-upload`. It only moves
/// forward: a gap is sent as zeros, a write behind what was sent is an error. `finish` sends the end mark and waits
/// for the helper's answer.
public final class StreamedFile: DumpOutput, @unchecked Sendable {
    private let pipe: Int32
    private var closed = false
    private let finishing: () throws(CaptureUploader.Failure) -> CaptureUploader.Stored
    public let name: String
    /// Bytes sent so far.
    public private(set) var position: UInt64 = 0

    init(
        pipe: Int32, name: String,
        finish: @escaping () throws(CaptureUploader.Failure) -> CaptureUploader.Stored
    ) {
        self.pipe = pipe
        self.name = name
        self.finishing = finish
    }

    deinit { if !closed { close(pipe) } }

    public var isStream: Bool { true }

    public func writeAll(_ buffer: UnsafeRawBufferPointer, atOffset offset: UInt64) throws {
        guard offset >= position else {
            throw CaptureUploader.Failure(
                description: "\(name): a write at offset \(offset) is behind the \(position) bytes already sent")
        }
        try zeros(upTo: offset)
        // Sound because `send` reads only the caller's buffer, within its count.
        try unsafe send(buffer)
    }

    public func truncate(to size: UInt64) throws {
        guard size >= position else {
            throw CaptureUploader.Failure(
                description: "\(name): cannot shorten to \(size) bytes, \(position) were already sent")
        }
        try zeros(upTo: size)
    }

    public func sync() throws {}

    /// Sends the end mark and waits for the helper: what the server now holds.
    public func finish() throws(CaptureUploader.Failure) -> CaptureUploader.Stored {
        // Sound because the mark's bytes are borrowed only for the send.
        do { try unsafe CaptureNetwork.streamEndMark.withUnsafeBytes { try unsafe send($0) } } catch {
            closed = true
            close(pipe)
            _ = try? finishing()
            throw CaptureUploader.Failure(description: "\(error)")
        }
        closed = true
        close(pipe)
        return try finishing()
    }

    /// Ends the stream without the end mark: the helper aborts the upload and nothing is stored.
    public func abandon() {
        guard !closed else { return }
        closed = true
        close(pipe)
        _ = try? finishing()
    }

    private func zeros(upTo end: UInt64) throws {
        guard end > position else { return }
        let block = [UInt8](repeating: 0, count: 1 << 16)
        while position < end {
            let count = Int(min(UInt64(block.count), end - position))
            // Sound because `count <= block.count`, so the slice is inside the borrowed block.
            try unsafe block.withUnsafeBytes { try unsafe send(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }

    private func send(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            // Sound because `done < buffer.count`: write(2) reads the rest of the buffer and no further.
            let result = unsafe write(pipe, buffer.baseAddress! + done, buffer.count - done)
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                throw CaptureUploader.Failure(
                    description: unsafe "\(name): the upload helper stopped reading after \(position) bytes "
                        + "(\(String(cString: strerror(errno))))")
            }
            done += result
            position += UInt64(result)
        }
    }
}
