import SystemCalls

/// Reads a core file in large windows: `mmap` when the file allows it, else `pread` into one reused buffer.
///
/// The mode is chosen once, when the reader is made, by mapping the file's first page; `windowSize` is then
/// fixed, so callers can cut their windows on page boundaries.
// Sound because the read buffer is private: allocated once, lent only inside `withBytes`, freed by `release()`.
@safe struct WindowReader {
    let core: ELFCore
    /// Bytes per window: the mapping size, or the read buffer size when the file cannot be mapped.
    let windowSize: Int
    /// Whether the file could not be mapped and is read instead.
    let usesRead: Bool
    private var buffer: UnsafeMutableRawBufferPointer?

    init(core: ELFCore, windowSize: Int, readBufferSize: Int) {
        self.core = core
        // Sound because the probe mapping is unmapped at once and never read.
        if let probe = unsafe try? MemoryMap.map(core.file, offset: 0, count: min(4096, Int(max(core.fileSize, 1)))) {
            unsafe probe.unmap()
            usesRead = false
            self.windowSize = windowSize
        } else {
            usesRead = true
            self.windowSize = readBufferSize
        }
    }

    /// Calls `body` with the `count` bytes (at most `windowSize`) at `offset` of the file (all inside the file).
    mutating func withBytes(
        atFileOffset offset: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        precondition(count <= windowSize, "window larger than the reader's window size")
        if !usesRead {
            // Sound because the map lives until the defer, after body returns; the caller keeps the range in the file.
            let map = try unsafe MemoryMap.map(core.file, offset: offset, count: count)
            defer { unsafe map.unmap() }
            unsafe map.adviseSequential()
            // The caller keeps `offset + count` within the file size, so no page of the view is past EOF.
            try unsafe body(map.bytes)
            return
        }
        // Sound because the buffer has `windowSize` bytes and `count <= windowSize` (precondition above).
        if unsafe buffer == nil {
            unsafe buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: windowSize, alignment: 4096)
        }
        let target = unsafe UnsafeMutableRawBufferPointer(rebasing: buffer![0..<count])
        try unsafe readFully(into: target, atFileOffset: offset)
        try unsafe body(UnsafeRawBufferPointer(target))
    }

    /// Fills `target` with the file's bytes at `offset`; a file that ends first is an error.
    func readFully(into target: UnsafeMutableRawBufferPointer, atFileOffset offset: UInt64) throws {
        var filled = 0
        while filled < target.count {
            // Sound because the slice starts inside `target` and reaches its end.
            let got = try unsafe core.file.read(
                into: UnsafeMutableRawBufferPointer(rebasing: target[filled...]), atOffset: offset + UInt64(filled))
            if got == 0 {
                throw ELFCoreError(
                    path: core.path,
                    .truncated(
                        what: "memory data", offset: offset, needed: UInt64(target.count), fileSize: core.fileSize))
            }
            filled += got
        }
    }

    /// Frees the read buffer.
    mutating func release() {
        // Sound because the buffer is freed once and set to nil, so no read uses it afterwards.
        unsafe buffer?.deallocate()
        unsafe buffer = nil
    }
}

/// One window of the input that outlives a call, for threads that share it: mapped when the reader maps, else read
/// into a buffer of the window's own (allocated once, at the reader's window size).
// Sound because the window owns its mapping (until `release()`) and its buffer (until deinit); `bytes` points into
// one of them and is empty when neither holds data.
@safe final class InputWindow: @unchecked Sendable {
    private var map: MemoryMap?
    private var buffer: UnsafeMutableRawBufferPointer?
    /// The loaded bytes (empty before `load` and after `release`).
    private(set) var bytes = unsafe UnsafeRawBufferPointer(start: nil, count: 0)

    /// Holds the `count` bytes (at most the reader's window size) at `offset` of the file, all inside the file.
    func load(_ reader: WindowReader, atFileOffset offset: UInt64, count: Int) throws {
        precondition(count <= reader.windowSize, "window larger than the reader's window size")
        release()
        if !reader.usesRead {
            // Sound because the map is kept until `release()`, which empties `bytes` first.
            let map = try unsafe MemoryMap.map(reader.core.file, offset: offset, count: count)
            unsafe map.adviseSequential()
            unsafe self.map = map
            unsafe bytes = map.bytes
            return
        }
        // Sound because the buffer has the reader's window size and `count` is at most that (precondition above).
        if unsafe buffer == nil {
            unsafe buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: reader.windowSize, alignment: 4096)
        }
        let target = unsafe UnsafeMutableRawBufferPointer(rebasing: buffer![0..<count])
        try unsafe reader.readFully(into: target, atFileOffset: offset)
        unsafe bytes = UnsafeRawBufferPointer(target)
    }

    /// Unmaps a mapped window (a read buffer is kept for the next load); `bytes` is empty afterwards.
    func release() {
        // Sound because `bytes` is emptied before the mapping it may point into goes.
        unsafe bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        unsafe map?.unmap()
        unsafe map = nil
    }

    deinit {
        // Sound because deinit runs once, after the last user of the window.
        release()
        unsafe buffer?.deallocate()
    }
}
