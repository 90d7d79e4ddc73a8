import KernelInterfaces
import SystemCalls
import TestSupport
import Testing

/// Builds the bytes a return to the production kernel is made of, from synthetic headers and memory maps.
enum ReturnKernelFixture {
    static func put(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt64, width: Int) {
        for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    static func get(_ bytes: [UInt8], _ offset: Int, width: Int) -> UInt64 {
        (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    /// A bzImage of `size` bytes: protocol 2.15, 64-bit, relocatable, aligned to 2 MiB, preferring 16 MiB,
    /// init_size 48 MiB, 27 setup sectors, the setup header ending at 0x26c.
    static func kernel(size: Int = 6 << 20, protocolVersion: UInt64 = 0x020f, xloadflags: UInt64 = 0x7f) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes[0x1f1] = 27
        bytes[0x200] = 0xeb
        bytes[0x201] = 0x6a
        bytes.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        put(&bytes, 0x206, protocolVersion, width: 2)
        put(&bytes, 0x211, 0x81, width: 1)  // loadflags: LOADED_HIGH, CAN_USE_HEAP
        put(&bytes, 0x22c, 0x7fff_ffff, width: 4)
        put(&bytes, 0x230, 0x20_0000, width: 4)
        bytes[0x234] = 1
        put(&bytes, 0x236, xloadflags, width: 2)
        put(&bytes, 0x238, 0x7ff, width: 4)
        put(&bytes, 0x258, 0x100_0000, width: 8)
        put(&bytes, 0x260, 48 << 20, width: 4)
        put(&bytes, 0x264, 0x1234_5678, width: 4)  // handover_offset: a header byte that must reach boot_params
        return bytes
    }

    /// A production boot_params with `entries` in its e820 table, an ACPI RSDP, EFI info and a stale setup_data.
    static func template(_ entries: [E820Entry]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 4096)
        put(&bytes, 0x070, 0xf_5a40, width: 8)  // acpi_rsdp_addr
        put(&bytes, 0x1c0, 0x3436_4c45, width: 4)  // efi_loader_signature "EL64"
        bytes[0x1e8] = UInt8(entries.count)
        bytes[0x1ef] = 0xff  // sentinel
        put(&bytes, 0x250, 0x7f00_0000, width: 8)  // setup_data of the production boot
        for (index, entry) in entries.enumerated() {
            put(&bytes, 0x2d0 + 20 * index, entry.address, width: 8)
            put(&bytes, 0x2d0 + 20 * index + 8, entry.size, width: 8)
            put(&bytes, 0x2d0 + 20 * index + 16, UInt64(entry.type), width: 4)
        }
        return bytes
    }

    /// A 2 GiB machine as SeaBIOS describes it.
    static let entries = [
        E820Entry(address: 0, size: 0x9_fc00, type: 1), E820Entry(address: 0x9_fc00, size: 0x400, type: 2),
        E820Entry(address: 0xf_0000, size: 0x1_0000, type: 2),
        E820Entry(address: 0x10_0000, size: 0x7fee_0000, type: 1),
        E820Entry(address: 0x7ffe_0000, size: 0x2_0000, type: 2),
    ]
    static let memmap: [FirmwareMemoryMap.Entry] = [
        .init(start: 0, end: 0x9_fbff, type: "System RAM"), .init(start: 0x9_fc00, end: 0x9_ffff, type: "Reserved"),
        .init(start: 0xf_0000, end: 0xf_ffff, type: "Reserved"),
        .init(start: 0x10_0000, end: 0x7ffd_ffff, type: "System RAM"),
        .init(start: 0x7ffe_0000, end: 0x7fff_ffff, type: "Reserved"),
    ]

    static func layout(
        kernel: [UInt8] = kernel(), initramfsSize: Int = 3 << 20, commandLine: String = "root=/dev/vda1 ro",
        entries: [E820Entry] = entries, memmap: [FirmwareMemoryMap.Entry] = memmap, captureRAM: UInt64 = 200 << 20
    ) throws -> ReturnKernelLayout {
        try ReturnKernelLayout(
            kernelPrefix: Array(kernel.prefix(0x400)), kernelSize: kernel.count, kernelPath: "/boot/vmlinuz",
            initramfsSize: initramfsSize, commandLine: commandLine, template: template(entries),
            templatePath: "/etc/oopsd/boot_params", firmwareMap: memmap, captureRAM: captureRAM)
    }
}

@Suite struct ReturnKernelTests {
    typealias F = ReturnKernelFixture

    @Test func headerGivesWhereTheKernelStartsAndWhatItNeeds() throws {
        let header = try BzImageHeader(parsing: Array(F.kernel().prefix(0x400)), path: "k")
        #expect(header.protectedModeOffset == 28 * 512)
        #expect(header.headerEnd == 0x26c)
        #expect(header.preferredAddress == 0x100_0000)
        #expect(header.initrdAddressMax == 0x7fff_ffff)
        #expect(header.commandLineSize == 0x7ff)
        try header.checkEnterable64(path: "k", fileSize: 6 << 20)
        var zeroSectors = F.kernel()
        zeroSectors[0x1f1] = 0
        #expect(try BzImageHeader(parsing: zeroSectors, path: "k").protectedModeOffset == 5 * 512)
    }

    @Test func oldOr32BitKernelsAreRefusedByName() throws {
        let old = try BzImageHeader(parsing: F.kernel(protocolVersion: 0x020b), path: "/boot/old")
        let oldError = try #require(throws: KernelFileError.self) {
            try old.checkEnterable64(path: "/boot/old", fileSize: 6 << 20)
        }
        #expect(
            oldError.description
                == "/boot/old: expected boot protocol 2.12 or later (xloadflags, the 64-bit entry), found \"0x20b\"")
        let i386 = try BzImageHeader(parsing: F.kernel(xloadflags: 0), path: "/boot/i386")
        let i386Error = try #require(throws: KernelFileError.self) {
            try i386.checkEnterable64(path: "/boot/i386", fileSize: 6 << 20)
        }
        #expect(i386Error.description == "/boot/i386: expected XLF_KERNEL_64 in xloadflags (0x236), found \"0x0\"")
    }

    @Test func debianKernelIsEnterable() throws {
        let directory = "/var/cache/oopsd-vm/kernel-6.1/root/boot"
        guard let name = (try? FileSystem.listDirectory(directory))?.first(where: { $0.hasPrefix("vmlinuz-") }) else {
            return  // the VM harness's kernel cache is absent on this machine
        }
        let bytes = try FileSystem.readBytes(Path.join(directory, name))
        let header = try BzImageHeader(parsing: Array(bytes.prefix(0x400)), path: name)
        try header.checkEnterable64(path: name, fileSize: bytes.count)
        #expect(header.extendedLoadFlags & BzImageHeader.xlfKernel64 != 0)
        #expect(header.headerEnd == 0x202 + Int(bytes[0x201]))
        let layout = try F.layout(kernel: bytes)
        #expect(layout.kernel == header.preferredAddress)
        #expect(layout.kernelMemorySize == UInt64((bytes.count - header.protectedModeOffset + 4095) / 4096 * 4096))
        #expect(layout.kernelClaim.end == layout.kernel + UInt64((header.initSize + 4095) / 4096 * 4096))
    }

    @Test func layoutPutsKernelAtItsPreferredAddressAndTheRestAfterItsClaim() throws {
        let layout = try F.layout()
        #expect(layout.kernel == 0x100_0000)
        #expect(layout.kernelClaim == PhysicalRange(start: 0x100_0000, end: 0x400_0000))
        #expect(layout.kernelMemorySize == UInt64((6 << 20) - 28 * 512 + 4095) / 4096 * 4096)
        #expect(layout.initramfs == 0x400_0000)
        #expect(layout.initramfsMemorySize == 3 << 20)
        #expect(layout.boot == 0x430_0000)
        // boot_params page, one command-line page, then the purgatory mapping 1 GiB (5 + 1 pages).
        #expect(layout.bootSegment.count == (2 + 6) * 4096)
        #expect(layout.entry == 0x430_2000 + 0x40)
        #expect(layout.segments.map(\.address) == [0x100_0000, 0x400_0000, 0x430_0000])
    }

    @Test func bootParamsKeepTheFirmwareFieldsAndTakeTheNewHeader() throws {
        let kernel = F.kernel()
        let layout = try F.layout(kernel: kernel)
        let params = Array(layout.bootSegment.prefix(4096))
        let template = F.template(F.entries)
        #expect(params[0x2d0..<0x2d0 + 20 * 5] == template[0x2d0..<0x2d0 + 20 * 5])  // e820 table
        #expect(params[0x1e8] == 5)
        #expect(F.get(params, 0x070, width: 8) == 0xf_5a40)  // acpi_rsdp_addr
        #expect(params[0x1c0..<0x1e0].allSatisfy { $0 == 0 })  // efi_info cleared
        #expect(params[0x1ef] == 0)  // sentinel
        #expect(F.get(params, 0x264, width: 4) == 0x1234_5678)  // the new kernel's header
        #expect(params[0x210] == 0xff)  // type_of_loader
        #expect(F.get(params, 0x228, width: 4) == 0x430_1000)  // cmd_line_ptr
        #expect(F.get(params, 0x0c8, width: 4) == 0)
        #expect(F.get(params, 0x218, width: 4) == 0x400_0000)  // ramdisk_image
        #expect(F.get(params, 0x21c, width: 4) == 3 << 20)  // ramdisk_size
        #expect(F.get(params, 0x250, width: 8) == 0)  // setup_data
        let line = layout.bootSegment[4096..<4096 + 18]
        #expect(Array(line) == Array("root=/dev/vda1 ro".utf8) + [0])
    }

    /// What a returned kernel exports as its boot_params freezes to the same bytes as the firmware boot's, so the
    /// capture image built after a return is the cached one.
    @Test func bootParamsOfAReturnFreezeLikeTheOriginal() throws {
        let layout = try F.layout()
        let returned = Array(layout.bootSegment.prefix(4096))
        let original = F.template(F.entries)
        #expect(returned != original)
        #expect(BootParams.canonicalTemplate(returned) == BootParams.canonicalTemplate(original))
        #expect(BootParams.canonicalTemplate(original)[0x2d0..<0x2d0 + 100] == original[0x2d0..<0x2d0 + 100])
    }

    @Test func purgatoryLoadsGDTTablesAndJumpsToThe64BitEntry() throws {
        let base: UInt64 = 0x430_2000
        let stub = KexecPurgatory(base: base, bootParams: 0x430_0000, kernel: 0x100_0000, mappedGiB: 2)
        #expect(stub.bytes.count == 7 * 4096)
        #expect(F.get(stub.bytes, 0x10, width: 8) == 0x00af_9a00_0000_ffff)
        #expect(F.get(stub.bytes, 0x18, width: 8) == 0x00cf_9200_0000_ffff)
        #expect(F.get(stub.bytes, 0x20, width: 2) == 0x1f)
        #expect(F.get(stub.bytes, 0x22, width: 8) == base)
        let code = Array(stub.bytes[0x40..<0x100])
        // mov rsp, stack top; ...; mov rsi, boot_params; xor edi/ebp; mov rax, kernel + 0x200; jmp rax
        #expect(Array(code.prefix(2)) == [0x48, 0xbc] && F.get(code, 2, width: 8) == base + 0x2000)
        let jump = try #require(code.indices.first { code[$0] == 0xff && code[$0 + 1] == 0xe0 })
        #expect(F.get(code, jump - 8, width: 8) == 0x100_0200)
        #expect(F.get(code, jump - 22, width: 8) == 0x430_0000)
        // PML5[0] -> PML4, PML4[0] -> PDPT, PDPT[1] -> second directory, whose entry 3 maps 1 GiB + 6 MiB.
        #expect(F.get(stub.bytes, 2 * 4096, width: 8) == (base + 3 * 4096) | 3)
        #expect(F.get(stub.bytes, 3 * 4096, width: 8) == (base + 4 * 4096) | 3)
        #expect(F.get(stub.bytes, 4 * 4096 + 8, width: 8) == (base + 6 * 4096) | 3)
        #expect(F.get(stub.bytes, 6 * 4096 + 3 * 8, width: 8) == (1 << 30 | 6 << 20) | 0x83)
        #expect(F.get(stub.bytes, 4 * 4096 + 16, width: 8) == 0)
    }

    @Test func mapsThatDisagreeAreRefused() throws {
        var memmap = F.memmap
        memmap[3].end = 0x3ffd_ffff  // sysfs says 1 GiB, boot_params says 2 GiB
        let error = try #require(throws: KernelFileError.self) { try F.layout(memmap: memmap) }
        #expect(
            error.description
                == "/etc/oopsd/boot_params: expected the RAM of /sys/firmware/memmap (0x0-0x9fc00 0x100000-0x3ffe0000), "
                + "found \"0x0-0x9fc00 0x100000-0x7ffe0000\"")
        let empty = try #require(throws: KernelFileError.self) { try F.layout(entries: []) }
        #expect(empty.description == "/etc/oopsd/boot_params: expected 1 to 128 e820 entries (byte 0x1e8), found \"0\"")
    }

    @Test func segmentsBeyondHalfTheCaptureRAMAreRefused() throws {
        let error = try #require(throws: ReturnKernelError.self) {
            try F.layout(initramfsSize: 60 << 20, captureRAM: 120 << 20)
        }
        #expect(
            error.description
                == "the return kernel's segments need 66 MiB, more than half of the capture kernel's 120 MiB "
                + "(the kernel's limit for kexec_load): raise crashkernel= or use a smaller initramfs")
    }

    @Test func kernelMovesWhenItsPreferredAddressIsNotRAM() throws {
        let entries = [
            E820Entry(address: 0, size: 0x9_fc00, type: 1), E820Entry(address: 0x100_0000, size: 0x10_0000, type: 2),
            E820Entry(address: 0x10_0000, size: 0xf0_0000, type: 1),
            E820Entry(address: 0x110_0000, size: 0x3eef_0000, type: 1),
        ]
        let memmap: [FirmwareMemoryMap.Entry] = [
            .init(start: 0, end: 0x9_fbff, type: "System RAM"),
            .init(start: 0x10_0000, end: 0xff_ffff, type: "System RAM"),
            .init(start: 0x110_0000, end: 0x3ffe_ffff, type: "System RAM"),
        ]
        let layout = try F.layout(entries: entries, memmap: memmap)
        #expect(layout.kernel == 0x120_0000)  // the first 2 MiB boundary inside RAM above the hole
        #expect(layout.initramfs == 0x420_0000)
    }

    @Test func longCommandLinesAreRefused() throws {
        let error = try #require(throws: ReturnKernelError.self) {
            try F.layout(commandLine: String(repeating: "x", count: 2048))
        }
        #expect(error.description == "the return command line has 2048 bytes, /boot/vmlinuz reads at most 2047")
    }

    @Test func firmwareMemoryMapTextRoundTripsAndNamesBadLines() throws {
        let text = FirmwareMemoryMap.text(F.memmap)
        #expect(
            text
                == "0x0 0x9fbff System RAM\n0x9fc00 0x9ffff Reserved\n0xf0000 0xfffff Reserved\n"
                + "0x100000 0x7ffdffff System RAM\n0x7ffe0000 0x7fffffff Reserved\n")
        #expect(try FirmwareMemoryMap.parse(text, path: "m") == F.memmap)
        let error = try #require(throws: KernelFileError.self) {
            try FirmwareMemoryMap.parse(text + "0x10 0x5 RAM\n", path: "m")
        }
        #expect(
            error.description == "m line 6: expected 0x<start> 0x<end> <type> with start <= end, found \"0x10 0x5 RAM\""
        )
    }

    @Test func firmwareMemoryMapIsReadFromSysfs() throws {
        let fixture = try TemporaryDirectory("kernel-interfaces")
        for (index, entry) in F.memmap.enumerated() {
            try fixture.write("/sys/firmware/memmap/\(index)/start", "0x\(String(entry.start, radix: 16))\n")
            try fixture.write("/sys/firmware/memmap/\(index)/end", "0x\(String(entry.end, radix: 16))\n")
            try fixture.write("/sys/firmware/memmap/\(index)/type", entry.type + "\n")
        }
        #expect(try FirmwareMemoryMap.read(root: fixture.root) == F.memmap)
    }
}
