import CShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open file descriptor. It does not close itself: call `close()` (usually in a `defer`).
public struct FileDescriptor: Sendable {
    /// The raw descriptor number.
    public let rawValue: Int32
    /// The path it was opened with, for error messages.
    public let path: String?

    public init(rawValue: Int32, path: String? = nil) {
        self.rawValue = rawValue
        self.path = path
    }

    /// Standard output (descriptor 1).
    public static let standardOutput = FileDescriptor(rawValue: 1, path: "standard output")
    /// Standard error (descriptor 2).
    public static let standardError = FileDescriptor(rawValue: 2, path: "standard error")

    /// How to open a file (the `O_*` flags of open(2)).
    public struct Options: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// `O_RDONLY` (zero; the default).
        public static let readOnly = Options([])
        /// `O_WRONLY`.
        public static let writeOnly = Options(rawValue: O_WRONLY)
        /// `O_RDWR`.
        public static let readWrite = Options(rawValue: O_RDWR)
        /// `O_CREAT`.
        public static let create = Options(rawValue: O_CREAT)
        /// `O_EXCL`.
        public static let exclusive = Options(rawValue: O_EXCL)
        /// `O_TRUNC`.
        public static let truncate = Options(rawValue: O_TRUNC)
        /// `O_APPEND`.
        public static let append = Options(rawValue: O_APPEND)
        /// `O_NOFOLLOW`: fail with ELOOP when the last path component is a symlink.
        public static let noFollow = Options(rawValue: O_NOFOLLOW)
        /// `O_DIRECTORY`.
        public static let directory = Options(rawValue: O_DIRECTORY)
        /// `O_CLOEXEC`.
        public static let closeOnExec = Options(rawValue: O_CLOEXEC)
        /// `O_NONBLOCK`: opening a FIFO or device does not wait for the other side.
        public static let nonBlocking = Options(rawValue: O_NONBLOCK)
    }

    /// Opens `path`; `O_CLOEXEC` is always added.
    public static func open(
        _ path: String, _ options: Options = .readOnly, mode: UInt32 = 0o600
    ) throws -> FileDescriptor {
        // Sound because `path` is bridged to a C string that lives for the call.
        let fd = try valueOrErrno("open", path: path) {
            unsafe oops_open(path, options.union(.closeOnExec).rawValue, mode_t(mode))
        }
        return FileDescriptor(rawValue: fd, path: path)
    }

    /// Opens `path` for reading only if it is a regular file: never through a symlink (`O_NOFOLLOW`), never
    /// waiting on a FIFO or device (`O_NONBLOCK`), then `fstat` must say `S_IFREG`. For files whose content comes
    /// from elsewhere (a dump directory): anything else throws `FileKindError`. `followingLinks` allows a symlink
    /// at the last component (configuration drop-ins may be links), still refusing what it leads to unless regular.
    public static func openRegularFile(_ path: String, followingLinks: Bool = false) throws -> FileDescriptor {
        let fd: FileDescriptor
        do {
            fd = try open(path, followingLinks ? [.readOnly, .nonBlocking] : [.readOnly, .noFollow, .nonBlocking])
        } catch let error as SystemError where error.errno == .tooManySymbolicLinkLevels {
            throw FileKindError(path: path, kind: .symlink)
        }
        let status: FileStatus
        do {
            status = try fd.status()
        } catch {
            try? fd.close()
            throw error
        }
        guard status.kind == .regular else {
            try? fd.close()
            throw FileKindError(path: path, kind: status.kind)
        }
        return fd
    }

    /// Closes the descriptor.
    public func close() throws {
        // close(2) must not be retried on EINTR on Linux: the descriptor is gone either way.
        if Glibc.close(rawValue) == -1 {
            let error = oops_errno()
            if error != EINTR { throw SystemError("close", path: path, errno: error) }
        }
    }

    /// Asks the kernel to start reading the whole file into the page cache (`posix_fadvise(POSIX_FADV_WILLNEED)`)
    /// and returns without waiting: whoever reads it next (another process, the kernel itself) finds it there.
    public func adviseWillNeed() throws {
        let result = posix_fadvise(rawValue, 0, 0, POSIX_FADV_WILLNEED)
        if result != 0 { throw SystemError("posix_fadvise", path: path, errno: result) }
    }

    /// Whether a read would not wait, asked of poll(2) for at most `milliseconds`: data, the end of the stream or
    /// an error are there for the read to return. False only when the time passed with nothing to read.
    public func hasInput(withinMilliseconds milliseconds: Int32) -> Bool {
        var request = pollfd(fd: rawValue, events: Int16(POLLIN), revents: 0)
        // Sound because poll reads and fills the one local pollfd.
        return unsafe poll(&request, 1, milliseconds) != 0
    }

    /// Reads up to `buffer.count` bytes; returns how many were read (0 at end of file).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        // Sound because read(2) writes at most `buffer.count` bytes into the caller's buffer.
        try valueOrErrno("read", path: path) { unsafe Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Reads up to `buffer.count` bytes at `offset` without moving the file position. An offset beyond `off_t`
    /// (2^63 and up, as a corrupt header can give) is past the end of every file: it reads nothing.
    public func read(
        into buffer: UnsafeMutableRawBufferPointer, atOffset offset: UInt64
    ) throws -> Int {
        guard let position = off_t(exactly: offset) else { return 0 }
        return try valueOrErrno("pread", path: path) {
            // Sound because pread(2) writes at most `buffer.count` bytes into the caller's buffer.
            unsafe pread(rawValue, buffer.baseAddress, buffer.count, position)
        }
    }

    /// Reads exactly `count` bytes at `offset`, or fewer only at end of file.
    public func readBytes(count: Int, atOffset offset: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            // Sound because `done < count` keeps the rebased slice inside `bytes`, which the closure borrows.
            let got = try unsafe bytes.withUnsafeMutableBytes { (raw) throws -> Int in
                let (position, overflow) = offset.addingReportingOverflow(UInt64(done))
                return unsafe overflow
                    ? 0 : try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]), atOffset: position)
            }
            if got == 0 { break }
            done += got
        }
        bytes.removeLast(count - done)
        return bytes
    }

    /// `offset + extra` as an `off_t`, nil when it does not fit (2^63 and up).
    static func fileOffset(_ offset: UInt64, plus extra: Int) -> off_t? {
        let (sum, overflow) = offset.addingReportingOverflow(UInt64(extra))
        return overflow ? nil : off_t(exactly: sum)
    }

    /// Reads everything from the current position to end of file.
    public func readToEnd(limit: Int = Int.max) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            // Sound because the read fills at most the borrowed `chunk`'s 65536 bytes.
            let got = try unsafe chunk.withUnsafeMutableBytes { (raw) throws -> Int in try unsafe read(into: raw) }
            if got == 0 { break }
            result.append(contentsOf: chunk[0..<got])
        }
        return result
    }

    /// Writes all of `buffer`, looping over short writes.
    public func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            // Sound because `done < buffer.count` keeps `rest` inside the caller's buffer; write(2) only reads it.
            let rest = unsafe UnsafeRawBufferPointer(rebasing: buffer[done...])
            done += try valueOrErrno("write", path: path) { unsafe Glibc.write(rawValue, rest.baseAddress, rest.count) }
        }
    }

    /// Writes all of `bytes`.
    public func writeAll(_ bytes: some Collection<UInt8>) throws {
        let array = Array(bytes)
        // Sound because the bytes are borrowed from `array` only for the write.
        try unsafe array.withUnsafeBytes { (raw) throws in try unsafe writeAll(raw) }
    }

    /// Writes all of `buffer` at `offset` (pwrite), looping over short writes.
    public func writeAll(_ buffer: UnsafeRawBufferPointer, atOffset offset: UInt64) throws {
        var done = 0
        while done < buffer.count {
            // Sound because `done < buffer.count` keeps `rest` inside the caller's buffer; pwrite(2) only reads it.
            let rest = unsafe UnsafeRawBufferPointer(rebasing: buffer[done...])
            guard let position = Self.fileOffset(offset, plus: done) else {
                throw SystemError("pwrite", path: path, errno: EFBIG)
            }
            done += try valueOrErrno("pwrite", path: path) {
                unsafe pwrite(rawValue, rest.baseAddress, rest.count, position)
            }
        }
    }

    /// Writes `buffer` at `offset` with one pwrite(2): the bytes written, or the errno (EIO for a write of none).
    /// For callers that handle particular errors themselves (direct I/O's EFAULT and EINVAL).
    public func writeOnce(_ buffer: UnsafeRawBufferPointer, atOffset offset: UInt64) -> Result<Int, SystemError> {
        guard let position = off_t(exactly: offset) else {
            return .failure(SystemError("pwrite", path: path, errno: EFBIG))
        }
        do {
            // Sound because pwrite(2) only reads the caller's `buffer`, within its count.
            let wrote = try valueOrErrno("pwrite", path: path) {
                unsafe pwrite(rawValue, buffer.baseAddress, buffer.count, position)
            }
            return wrote > 0 ? .success(wrote) : .failure(SystemError("pwrite", path: path, errno: EIO))
        } catch {
            return .failure(SystemError(caught: error))
        }
    }

    /// The same file opened once more, write-only with `O_DIRECT`, through /proc/self/fd; nil when that fails (a
    /// file system without direct I/O, or no /proc).
    public func reopenedForDirectWrites() -> FileDescriptor? {
        let fd = oops_reopen_direct(rawValue)
        return fd >= 0 ? FileDescriptor(rawValue: fd, path: path) : nil
    }

    /// Starts writing the dirty pages of `count` bytes at `offset` to the device and returns without waiting for them
    /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that a later `sync()` has less left to wait for. A hint: a
    /// failure is said by `sync()`.
    public func startWriteback(atOffset offset: UInt64, count: UInt64) {
        guard let start = Int64(exactly: offset), let length = Int64(exactly: count) else { return }
        _ = oops_start_writeback(rawValue, start, length)
    }

    /// Flushes the file's data and metadata to the device.
    public func sync() throws {
        _ = try valueOrErrno("fsync", path: path) { fsync(rawValue) }
    }

    /// Sets the file's size (ftruncate), e.g. to end a sparse file in a hole.
    public func truncate(to size: UInt64) throws {
        guard let length = off_t(exactly: size) else { throw SystemError("ftruncate", path: path, errno: EFBIG) }
        _ = try valueOrErrno("ftruncate", path: path) { ftruncate(rawValue, length) }
    }

    /// Takes an exclusive flock(2) lock without waiting: false when another open file description holds one.
    /// The lock goes with the descriptor's last close.
    public func lockExclusively() throws -> Bool {
        while flock(rawValue, LOCK_EX | LOCK_NB) != 0 {
            let error = Errno.current
            if error == .resourceTemporarilyUnavailable { return false }
            if error != .interrupted { throw SystemError("flock", path: path, errno: error) }
        }
        return true
    }

    /// The file's status.
    public func status() throws -> FileStatus {
        var raw = oops_stat_t()
        // Sound because fstat fills the local `raw` in place.
        _ = try valueOrErrno("fstat", path: path) { unsafe oops_fstat(rawValue, &raw) }
        return FileStatus(raw)
    }
}
