import SystemCalls

/// A regular file whose whole aligned blocks are written with `O_DIRECT`, from the caller's memory to the device
/// without a copy in the page cache, and everything else through the page cache as usual.
///
/// Why: a dump is written once and never read back by the capture, so caching it only costs a copy per byte, the
/// memory of the crash reservation for dirty pages, and a long final sync. Where the kernel cannot write the
/// caller's memory directly (an mmap of /proc/vmcore is a PFN mapping, which direct I/O cannot pin: `EFAULT`), the
/// block is copied to an aligned buffer first. Where the file system refuses `O_DIRECT` (at open, or `EINVAL` on a
/// write), every later write goes through the page cache. The kernel keeps the two paths coherent: a direct write
/// first writes back and drops cached pages of its range.
// Sound because the bounce buffer is allocated once, used only inside `writeDirect`, and freed once in deinit.
@safe public final class DirectFileOutput: DumpOutput {
    /// The file, written through the page cache.
    public let file: FileDescriptor
    /// The same file opened with `O_DIRECT`; nil when the file system refused it or a direct write failed.
    private var direct: FileDescriptor?
    /// Aligned copy of blocks whose memory is unaligned or cannot be pinned; made on first use.
    private var bounce: UnsafeMutableRawPointer?
    /// False once the kernel could not pin the caller's memory (`EFAULT`): from then on every block is copied, as
    /// the caller's windows are all the same kind of mapping.
    private var pinsCallerMemory = true
    /// Direct I/O needs offsets, lengths and memory aligned to the device's logical block; 4096 covers every
    /// common device.
    static let alignment = 4096
    static let bounceSize = 1 << 20
    /// Bytes written directly, with a copy, and through the page cache (for the capture's metadata).
    public private(set) var directBytes: UInt64 = 0
    public private(set) var copiedBytes: UInt64 = 0
    public private(set) var cachedBytes: UInt64 = 0

    /// Wraps `file` (open for writing) and opens it once more with `O_DIRECT` if it is a regular file; anything
    /// else is written as it is.
    public init(_ file: FileDescriptor) {
        self.file = file
        direct = (try? file.status())?.kind == .regular ? file.reopenedForDirectWrites() : nil
    }

    deinit {
        try? direct?.close()
        unsafe bounce?.deallocate()
    }

    /// How the data went, for the metadata: "direct", "direct with a copy", both, or "page cache".
    public var writeMethod: String {
        var parts: [String] = []
        if directBytes > 0 { parts.append("direct") }
        if copiedBytes > 0 { parts.append("direct with a copy") }
        return parts.isEmpty ? "page cache" : parts.joined(separator: ", ")
    }

    public var isStream: Bool { false }

    public func writeAll(_ buffer: UnsafeRawBufferPointer, atOffset offset: UInt64) throws {
        let align = Self.alignment
        let whole = buffer.count / align * align
        guard direct != nil, offset % UInt64(align) == 0, whole > 0 else {
            try unsafe file.writeAll(buffer, atOffset: offset)
            cachedBytes += UInt64(buffer.count)
            return
        }
        // Sound because `whole <= buffer.count`: both slices are inside the caller's buffer.
        try unsafe writeDirect(UnsafeRawBufferPointer(rebasing: buffer[..<whole]), atOffset: offset)
        if whole < buffer.count {
            try unsafe file.writeAll(
                UnsafeRawBufferPointer(rebasing: buffer[whole...]), atOffset: offset + UInt64(whole))
            cachedBytes += UInt64(buffer.count - whole)
        }
    }

    /// Writes whole aligned blocks directly: from the caller's memory while it is aligned and the kernel can pin it,
    /// else through the bounce buffer; through the page cache once the file system refused a direct write.
    private func writeDirect(_ blocks: UnsafeRawBufferPointer, atOffset offset: UInt64) throws {
        let aligned = Int(bitPattern: blocks.baseAddress) % Self.alignment == 0
        var done = 0
        while done < blocks.count {
            // Sound because `done < blocks.count` keeps the rest inside the caller's buffer.
            let rest = unsafe UnsafeRawBufferPointer(rebasing: blocks[done...])
            let at = offset + UInt64(done)
            if direct == nil {
                try unsafe file.writeAll(rest, atOffset: at)
                cachedBytes += UInt64(rest.count)
                return
            }
            if aligned && pinsCallerMemory {
                done += try unsafe writeDirectly(rest, at: at, copied: false)
            } else {
                let bounce = unsafe allocateBounce()
                let count = min(rest.count, Self.bounceSize)
                // Sound because the bounce buffer holds `bounceSize` bytes and `count` is at most that and
                // `rest.count`.
                unsafe bounce.copyMemory(from: rest.baseAddress!, byteCount: count)
                done += try unsafe writeDirectly(
                    UnsafeRawBufferPointer(start: bounce, count: count), at: at, copied: true)
            }
        }
    }

    /// Writes `bytes` with `O_DIRECT`, looping over short writes, and returns how many were written: all of them, or
    /// fewer when the kernel could not pin the caller's memory (`EFAULT`; the caller copies the rest) or the file
    /// system refused the write (`EINVAL`; direct writes stop). Any other error is thrown. `copied`: `bytes` is the
    /// bounce buffer.
    private func writeDirectly(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, copied: Bool) throws -> Int {
        var done = 0
        writing: while done < bytes.count, let direct {
            // Sound because `done < bytes.count` keeps the slice inside `bytes`.
            switch unsafe direct.writeOnce(
                UnsafeRawBufferPointer(rebasing: bytes[done...]), atOffset: offset + UInt64(done))
            {
            case .success(let wrote):
                done += wrote
            case .failure(let error) where error.errno == .badAddress && !copied:
                pinsCallerMemory = false
                break writing
            case .failure(let error) where error.errno == .invalidArgument:
                giveUpDirect()
            case .failure(let error):
                throw error
            }
        }
        if copied { copiedBytes += UInt64(done) } else { directBytes += UInt64(done) }
        return done
    }

    /// The bounce buffer, made on first use.
    private func allocateBounce() -> UnsafeMutableRawPointer {
        if let bounce = unsafe bounce { return unsafe bounce }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: Self.bounceSize, alignment: Self.alignment)
        unsafe bounce = unsafe memory
        return unsafe memory
    }

    private func giveUpDirect() {
        try? direct?.close()
        direct = nil
    }

    public func truncate(to size: UInt64) throws { try file.truncate(to: size) }

    /// Writes back what went through the page cache, and the file's metadata: a direct write is on the device when
    /// it returns, but the blocks it allocated are recorded in metadata.
    public func sync() throws { try file.sync() }

    public func startWriteback(atOffset offset: UInt64, count: UInt64) {
        file.startWriteback(atOffset: offset, count: count)
    }
}
