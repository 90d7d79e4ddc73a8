import CShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A read-only, private `mmap` of a byte range of an open file. It does not unmap itself: call `unmap()`.
// Unsafe to use: `bytes` dangles after `unmap()`; each user marks its reads and unmaps last.
@unsafe public struct MemoryMap: @unchecked Sendable {
    /// The first mapped byte of the requested range (not the page-aligned start of the mapping).
    public let bytes: UnsafeRawBufferPointer
    /// The file offset `bytes` starts at.
    public let fileOffset: UInt64
    private let base: UnsafeMutableRawPointer
    private let mappedLength: Int

    /// The system page size (`sysconf(_SC_PAGESIZE)`).
    public static let pageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Maps `count` bytes of `fd` at `offset` (any offset: the mapping starts at the page below it).
    /// The caller must not touch bytes beyond the end of the file: that raises SIGBUS.
    public static func map(_ fd: FileDescriptor, offset: UInt64, count: Int) throws -> MemoryMap {
        precondition(count > 0, "MemoryMap.map: empty range")
        let slack = unsafe Int(offset % UInt64(pageSize))
        let alignedOffset = offset - UInt64(slack)
        let length = count + slack
        guard let position = off_t(exactly: alignedOffset) else {
            throw SystemError("mmap", path: fd.path, errno: EINVAL)
        }
        // Sound because a failed mmap is caught; the view below starts `slack` bytes into the `length` mapped.
        guard let pointer = unsafe mmap(nil, length, PROT_READ, MAP_PRIVATE, fd.rawValue, position),
            unsafe pointer != MAP_FAILED
        else {
            throw SystemError("mmap", path: fd.path, errno: oops_errno())
        }
        // The kernel mapped `length` bytes at `pointer`; the view starts `slack` bytes in and stays in bounds.
        let view = unsafe UnsafeRawBufferPointer(start: pointer + slack, count: count)
        return unsafe MemoryMap(bytes: view, fileOffset: offset, base: pointer, mappedLength: length)
    }

    /// Tells the kernel the mapping will be read front to back (`MADV_SEQUENTIAL`); a hint, never fails.
    public func adviseSequential() {
        // Sound because `base` and `mappedLength` are exactly what mmap returned and was given.
        _ = unsafe madvise(base, mappedLength, MADV_SEQUENTIAL)
    }

    /// Unmaps the range; `bytes` must not be used afterwards.
    public func unmap() {
        // munmap fails only for invalid arguments, which `map` never produces.
        // Sound because `base` and `mappedLength` are exactly what mmap returned and was given.
        _ = unsafe munmap(base, mappedLength)
    }
}
