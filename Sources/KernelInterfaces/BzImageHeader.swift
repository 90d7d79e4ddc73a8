import SystemCalls

/// The fields of an x86 bzImage's setup header that size and place a kexec load (Documentation/arch/x86/boot.rst,
/// "The real-mode kernel header"; offsets are from the start of the file, which is also their offset in
/// `struct boot_params`).
public struct BzImageHeader: Equatable, Sendable {
    /// Boot protocol version, e.g. 0x020f.
    public var protocolVersion: UInt16
    /// `init_size`: bytes the kernel needs from its load address to decompress and start (protocol 2.10+).
    public var initSize: UInt32
    /// `kernel_alignment`: the alignment the kernel must be loaded at.
    public var kernelAlignment: UInt32
    /// `setup_sects` (0x1f1): 512-byte sectors of real-mode setup after the boot sector; 0 means 4.
    public var setupSectors: UInt8
    /// `relocatable_kernel` (0x234): whether the kernel may be loaded anywhere `kernel_alignment` allows.
    public var relocatable: Bool
    /// `pref_address` (0x258): where the kernel prefers to be loaded (its link address when not relocatable).
    public var preferredAddress: UInt64
    /// `initrd_addr_max` (0x22c): the highest address the initramfs's last byte may have (below 4 GiB).
    public var initrdAddressMax: UInt32
    /// `cmdline_size` (0x238): the longest command line the kernel reads, without its terminating zero.
    public var commandLineSize: UInt32
    /// `xloadflags` (0x236, protocol 2.12+; 0 before).
    public var extendedLoadFlags: UInt16
    /// Where the setup header ends: 0x202 plus the byte at 0x201 (the offset of the 2-byte jump at 0x200).
    public var headerEnd: Int

    /// `XLF_KERNEL_64`: the kernel has the 64-bit entry point at its load address + 0x200.
    public static let xlfKernel64: UInt16 = 1 << 0
    /// `XLF_CAN_BE_LOADED_ABOVE_4G`: the kernel and initramfs may lie above 4 GiB.
    public static let xlfCanBeLoadedAbove4G: UInt16 = 1 << 1
    /// Where the setup header starts (`struct setup_header` inside `struct boot_params`).
    public static let headerStart = 0x1f1
    /// The first byte after the setup header's room in `struct boot_params` (`edd_mbr_sig_buffer`).
    public static let headerRoomEnd = 0x290

    /// Parses the first bytes of a bzImage (at least 0x264; the whole setup header when `headerEnd` is needed);
    /// `path` names the file in errors.
    public init(parsing bytes: [UInt8], path: String) throws {
        func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8 }
        func u32(_ offset: Int) -> UInt32 { UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16 }
        func u64(_ offset: Int) -> UInt64 { UInt64(u32(offset)) | UInt64(u32(offset + 4)) << 32 }
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
        setupSectors = bytes[0x1f1]
        relocatable = bytes[0x234] != 0
        preferredAddress = u64(0x258)
        initrdAddressMax = u32(0x22c)
        commandLineSize = u32(0x238)
        extendedLoadFlags = protocolVersion >= 0x020c ? u16(0x236) : 0
        headerEnd = 0x202 + Int(bytes[0x201])
    }

    /// Reads the header of the bzImage at `path` (a host path, already under any root).
    public static func read(path: String) throws -> BzImageHeader {
        let fd = try FileDescriptor.open(path)
        defer { try? fd.close() }
        return try BzImageHeader(parsing: try fd.readBytes(count: 0x270, atOffset: 0), path: path)
    }

    /// The file offset of the protected-mode kernel: the boot sector and `setup_sects` sectors precede it.
    public var protectedModeOffset: Int { (Int(setupSectors == 0 ? 4 : setupSectors) + 1) * 512 }

    /// Checks what jumping into this kernel's 64-bit entry from our own purgatory needs: protocol 2.12 or
    /// later (`xloadflags`), `XLF_KERNEL_64`, a power-of-two alignment, and a setup header that ends inside
    /// its room in `struct boot_params` and inside `fileSize`. `path` names the file in errors.
    public func checkEnterable64(path: String, fileSize: Int) throws {
        guard protocolVersion >= 0x020c else {
            throw KernelFileError(
                path: path, expected: "boot protocol 2.12 or later (xloadflags, the 64-bit entry)",
                found: "0x" + String(protocolVersion, radix: 16))
        }
        guard extendedLoadFlags & Self.xlfKernel64 != 0 else {
            throw KernelFileError(
                path: path, expected: "XLF_KERNEL_64 in xloadflags (0x236)",
                found: "0x" + String(extendedLoadFlags, radix: 16))
        }
        guard kernelAlignment >= 4096, kernelAlignment & (kernelAlignment - 1) == 0 else {
            throw KernelFileError(
                path: path, expected: "kernel_alignment (0x230) a power of two of at least 4096",
                found: "0x" + String(kernelAlignment, radix: 16))
        }
        guard headerEnd > 0x264, headerEnd <= Self.headerRoomEnd else {
            throw KernelFileError(
                path: path, expected: "a setup header ending between 0x264 and 0x290 (0x202 + byte 0x201)",
                found: "0x" + String(headerEnd, radix: 16))
        }
        guard protectedModeOffset < fileSize else {
            throw KernelFileError(
                path: path, expected: "a protected-mode kernel after \(protectedModeOffset) bytes of setup",
                found: "\(fileSize) bytes in all")
        }
        guard UInt64(initSize) >= UInt64(fileSize - protectedModeOffset) else {
            throw KernelFileError(
                path: path,
                expected:
                    "init_size (0x260) at least the protected-mode kernel's \(fileSize - protectedModeOffset) bytes",
                found: "\(initSize)")
        }
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
