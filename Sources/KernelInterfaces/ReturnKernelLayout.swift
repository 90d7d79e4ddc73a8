import SystemCalls

/// Why oopsd-capture cannot jump back into the production kernel; the capture then reboots through the firmware.
public struct ReturnKernelError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What went wrong, as a sentence naming the file or value.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Where the production kernel, its initramfs and our boot segment (boot_params, command line, purgatory) go in
/// physical memory for kexec_load(2), worked out from the production kernel's firmware memory map.
///
/// Why kexec_load and not kexec_file_load from the capture kernel: on x86 the file-based loader writes the next
/// kernel's e820 table from the running kernel's own map (kexec-bzimage64.c, `setup_e820_entries` copies
/// `e820_table_kexec`), and a capture kernel's map is little more than the crash reservation: the returned
/// kernel would run in a few hundred MiB. kexec_load takes the segments and the boot_params as we build them.
///
/// Limits the kernel applies in `sanity_check_segment_list` (kernel/kexec_core.c) and checked here first, so
/// that the error says which: at most `KEXEC_SEGMENT_MAX` (16) segments, page-aligned and not overlapping,
/// and all their `memsz` together at most half of the running kernel's RAM (the segments are staged in it
/// until the jump).
public struct ReturnKernelLayout: Equatable, Sendable {
    /// The protected-mode kernel's load address, its segment size, and the range its `init_size` claims.
    public var kernel: UInt64
    public var kernelMemorySize: UInt64
    public var kernelClaim: PhysicalRange
    /// Where the protected-mode kernel starts in its file (after the real-mode setup).
    public var kernelFileOffset: Int
    /// The initramfs's address and segment size.
    public var initramfs: UInt64
    public var initramfsMemorySize: UInt64
    /// The boot segment: boot_params, then the command line, then the purgatory.
    public var boot: UInt64
    public var bootSegment: [UInt8]
    /// Where the capture kernel jumps (the purgatory's first instruction).
    public var entry: UInt64

    static let page: UInt64 = 4096
    static let gib: UInt64 = 1 << 30
    /// The kernel's default `LOAD_PHYSICAL_ADDR`: nothing is placed below 16 MiB.
    static let lowestKernelAddress: UInt64 = 16 << 20

    /// Places the pieces and builds the boot segment.
    /// - `kernelPrefix`: the kernel file's first bytes (at least up to the setup header's end); `kernelSize` its
    ///   size; `initramfsSize` the initramfs's size; `commandLine` without its NUL.
    /// - `template`: the production kernel's boot_params; `firmwareMap`: its `/sys/firmware/memmap`.
    /// - `captureRAM`: the running (capture) kernel's MemTotal in bytes.
    public init(
        kernelPrefix: [UInt8], kernelSize: Int, kernelPath: String, initramfsSize: Int, commandLine: String,
        template: [UInt8], templatePath: String, firmwareMap: [FirmwareMemoryMap.Entry], captureRAM: UInt64
    ) throws {
        let header = try BzImageHeader(parsing: kernelPrefix, path: kernelPath)
        try header.checkEnterable64(path: kernelPath, fileSize: kernelSize)
        guard kernelPrefix.count >= header.headerEnd else {
            throw ReturnKernelError(
                "\(kernelPath): read \(kernelPrefix.count) bytes, the setup header ends at \(header.headerEnd)")
        }
        let commandLineBytes = commandLine.utf8.count
        guard commandLineBytes <= Int(header.commandLineSize), !commandLine.utf8.contains(0) else {
            throw ReturnKernelError(
                "the return command line has \(commandLineBytes) bytes, \(kernelPath) reads at most \(header.commandLineSize)"
            )
        }
        let entries = try E820Map.entries(inBootParams: template, path: templatePath)
        let ram = try E820Map.checked(entries, firmwareRAM: FirmwareMemoryMap.ram(firmwareMap), path: templatePath)

        let above4G = header.extendedLoadFlags & BzImageHeader.xlfCanBeLoadedAbove4G != 0
        let mappable = UInt64(KexecPurgatory.maximumGiB) * Self.gib
        let alignment = UInt64(header.kernelAlignment)
        let claim = Self.roundUp(UInt64(header.initSize), Self.page)
        let kernelCeiling = above4G ? mappable : 4 * Self.gib
        var kernel: UInt64?
        if Self.fits(PhysicalRange(start: header.preferredAddress, end: header.preferredAddress &+ claim), in: ram),
            header.preferredAddress % alignment == 0, header.preferredAddress &+ claim <= kernelCeiling
        {
            kernel = header.preferredAddress
        } else if header.relocatable {
            kernel = Self.lowestFit(
                size: claim, alignment: alignment, floor: Self.lowestKernelAddress, ceiling: kernelCeiling, ram: ram,
                taken: [])
        }
        guard let kernel else {
            throw ReturnKernelError(
                "no RAM in the firmware memory map holds \(kernelPath)'s \(claim) bytes (init_size) at "
                    + (header.relocatable
                        ? "an address aligned to 0x\(String(alignment, radix: 16))"
                        : "its fixed address 0x\(String(header.preferredAddress, radix: 16))"))
        }
        self.kernel = kernel
        kernelClaim = PhysicalRange(start: kernel, end: kernel + claim)
        kernelFileOffset = header.protectedModeOffset
        kernelMemorySize = Self.roundUp(UInt64(kernelSize - header.protectedModeOffset), Self.page)

        initramfsMemorySize = Self.roundUp(UInt64(initramfsSize), Self.page)
        let initramfsCeiling = above4G ? mappable : UInt64(header.initrdAddressMax) + 1
        guard
            let initramfs = Self.lowestFit(
                size: max(initramfsMemorySize, Self.page), alignment: Self.page, floor: Self.lowestKernelAddress,
                ceiling: initramfsCeiling, ram: ram, taken: [kernelClaim])
        else {
            throw ReturnKernelError(
                "no RAM below 0x\(String(initramfsCeiling, radix: 16)) holds the \(initramfsSize)-byte initramfs beside the kernel"
            )
        }
        self.initramfs = initramfs
        let initramfsRange = PhysicalRange(start: initramfs, end: initramfs + initramfsMemorySize)

        let commandLinePages = Self.roundUp(UInt64(commandLineBytes + 1), Self.page)
        var mappedGiB = Int((max(kernelClaim.end, initramfsRange.end) + Self.gib - 1) / Self.gib)
        var boot: UInt64 = 0
        var placed = false
        for _ in 0..<3 where !placed {
            let size = Self.page + commandLinePages + UInt64(KexecPurgatory.size(mappedGiB: mappedGiB))
            guard
                let address = Self.lowestFit(
                    size: size, alignment: Self.page, floor: Self.lowestKernelAddress, ceiling: 4 * Self.gib, ram: ram,
                    taken: [kernelClaim, initramfsRange])
            else {
                throw ReturnKernelError(
                    "no RAM below 4 GiB holds the \(size)-byte boot segment beside kernel and initramfs")
            }
            boot = address
            let needed = Int((address + size + Self.gib - 1) / Self.gib)
            if needed <= mappedGiB { placed = true } else { mappedGiB = needed }
        }
        guard placed, mappedGiB <= KexecPurgatory.maximumGiB else {
            throw ReturnKernelError(
                "the pieces of the return kernel do not fit in the first \(KexecPurgatory.maximumGiB) GiB")
        }
        self.boot = boot
        let commandLineAddress = boot + Self.page
        let purgatory = KexecPurgatory(
            base: commandLineAddress + commandLinePages, bootParams: boot, kernel: kernel, mappedGiB: mappedGiB)
        let params = BootParams.make(
            template: template, kernelPrefix: kernelPrefix, header: header,
            placement: BootParams.Placement(
                kernel: kernel, commandLine: commandLineAddress, initramfs: initramfs,
                initramfsSize: UInt64(initramfsSize)))
        var line = Array(commandLine.utf8) + [0]
        line += [UInt8](repeating: 0, count: Int(commandLinePages) - line.count)
        bootSegment = params + line + purgatory.bytes
        entry = purgatory.entry

        let total = kernelMemorySize + initramfsMemorySize + UInt64(bootSegment.count)
        guard total <= captureRAM / 2 else {
            throw ReturnKernelError(
                "the return kernel's segments need \(total >> 20) MiB, more than half of the capture kernel's "
                    + "\(captureRAM >> 20) MiB (the kernel's limit for kexec_load): raise crashkernel= or use a smaller initramfs"
            )
        }
    }

    /// The segments for kexec_load, as (address, memory size) in load order: kernel, initramfs, boot segment.
    public var segments: [(address: UInt64, memorySize: UInt64)] {
        [(kernel, kernelMemorySize), (initramfs, initramfsMemorySize), (boot, UInt64(bootSegment.count))]
    }

    /// Hands the segments to kexec_load(2): the protected-mode part of `kernelFile` (the whole file, as laid out
    /// for), `initramfsFile`, and the boot segment. The buffers must stay valid during the call only: the kernel
    /// copies them into its own pages before it returns.
    public func load(
        kernelFile: UnsafeRawBufferPointer, initramfsFile: UnsafeRawBufferPointer, calls: any KexecSystemCalls
    ) throws {
        guard kernelFile.count > kernelFileOffset,
            UInt64(kernelFile.count - kernelFileOffset) <= kernelMemorySize,
            UInt64(initramfsFile.count) <= initramfsMemorySize
        else {
            throw ReturnKernelError("the kernel or initramfs changed size since the layout was made")
        }
        // Sound because the sizes are checked above and all three buffers outlive the kexec_load call.
        try unsafe bootSegment.withUnsafeBytes { boot in
            try unsafe calls.kexecLoad(
                entry: entry,
                segments: [
                    KexecSegment(
                        buffer: UnsafeRawBufferPointer(rebasing: kernelFile[kernelFileOffset...]), address: kernel,
                        memorySize: kernelMemorySize),
                    KexecSegment(buffer: initramfsFile, address: initramfs, memorySize: initramfsMemorySize),
                    KexecSegment(buffer: boot, address: self.boot, memorySize: UInt64(boot.count)),
                ])
        }
    }

    static func roundUp(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
        (value + alignment - 1) / alignment * alignment
    }

    static func fits(_ range: PhysicalRange, in ram: [PhysicalRange]) -> Bool {
        range.end > range.start && ram.contains { $0.start <= range.start && range.end <= $0.end }
    }

    /// The lowest `alignment`-aligned address at or above `floor` where `size` bytes lie inside one RAM range,
    /// end at or below `ceiling`, and overlap nothing in `taken`.
    static func lowestFit(
        size: UInt64, alignment: UInt64, floor: UInt64, ceiling: UInt64, ram: [PhysicalRange], taken: [PhysicalRange]
    ) -> UInt64? {
        for range in ram {
            var candidate = roundUp(max(range.start, floor), alignment)
            // Each step passes one range of `taken`, so the loop ends after at most taken.count + 1 steps.
            for _ in 0...taken.count {
                let end = candidate.addingReportingOverflow(size)
                guard !end.overflow, end.partialValue <= min(range.end, ceiling) else { break }
                let wanted = PhysicalRange(start: candidate, end: end.partialValue)
                guard let blocker = taken.first(where: { $0.overlaps(wanted) }) else { return candidate }
                candidate = roundUp(blocker.end, alignment)
            }
        }
        return nil
    }
}
