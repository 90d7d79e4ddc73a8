import SystemCalls

/// The fields of an x86 bzImage's setup header that size a kexec load (Documentation/arch/x86/boot.rst).
public struct BzImageHeader: Equatable, Sendable {
    /// Boot protocol version, e.g. 0x020f.
    public var protocolVersion: UInt16
    /// `init_size`: bytes the kernel needs from its load address to decompress and start (protocol 2.10+).
    public var initSize: UInt32
    /// `kernel_alignment`: the alignment the kernel must be loaded at.
    public var kernelAlignment: UInt32

    /// Parses the first 0x270 bytes of a bzImage; `path` names the file in errors.
    public init(parsing bytes: [UInt8], path: String) throws {
        func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8 }
        func u32(_ offset: Int) -> UInt32 { UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16 }
        guard bytes.count >= 0x264 else {
            throw KernelFileError(
                path: path, expected: "a bzImage of at least 0x264 bytes", found: "\(bytes.count) bytes")
        }
        guard bytes[0x202..<0x206].elementsEqual("HdrS".utf8) else {
            throw KernelFileError(
                path: path, expected: "the bzImage magic \"HdrS\" at offset 0x202",
                found: String(decoding: bytes[0x202..<0x206], as: UTF8.self))
        }
        protocolVersion = u16(0x206)
        guard protocolVersion >= 0x020a else {
            throw KernelFileError(
                path: path, expected: "boot protocol 2.10 or later (init_size)",
                found: "0x" + String(protocolVersion, radix: 16))
        }
        kernelAlignment = u32(0x230)
        initSize = u32(0x260)
    }

    /// Reads the header of the bzImage at `path` (a host path, already under any root).
    public static func read(path: String) throws -> BzImageHeader {
        let fd = try FileDescriptor.open(path)
        defer { try? fd.close() }
        return try BzImageHeader(parsing: try fd.readBytes(count: 0x270, atOffset: 0), path: path)
    }

    /// The least reservation that can hold this kernel and an initramfs of `initramfsBytes`: the aligned
    /// `init_size`, the initramfs, and 1 MiB for boot parameters, command line, purgatory and ELF headers.
    public func minimumReservation(initramfsBytes: UInt64) -> UInt64 {
        let alignment = UInt64(max(kernelAlignment, 4096))
        let kernel = (UInt64(initSize) + alignment - 1) / alignment * alignment
        let page: UInt64 = 4096
        return kernel + (initramfsBytes + page - 1) / page * page + (1 << 20)
    }
}
