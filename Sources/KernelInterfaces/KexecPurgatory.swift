/// The few instructions that run between the capture kernel's `relocate_kernel` and the returning kernel's
/// 64-bit entry point, as x86-64 machine code with its data, built for one physical address.
///
/// What `relocate_kernel` (arch/x86/kernel/relocate_kernel_64.S, checked in 6.1 and later) leaves us: 64-bit
/// mode, interrupts off, the GDT and IDT loaded with limit 0 (any segment load would fault), CR4 reduced to
/// PAE (plus LA57 when the capture kernel used 5-level paging), a stack inside its control page, and page
/// tables built by `init_pgtable` (machine_kexec_64.c) that identity-map the capture kernel's own RAM and, in a
/// loop over the image's segments, every segment's `mem .. mem + memsz`, even outside that RAM. They map
/// nothing else: not the rest of the kernel's `init_size` range, into which the kernel's decompressor moves
/// itself and puts its stack before it builds page tables of its own.
///
/// So the stub brings its own: a stack, identity page tables of 2 MiB pages covering the first `mappedGiB`
/// GiB (one page directory per GiB, under one PDPT, one PML4 and, when CR4.LA57 is set, one PML5), and the GDT
/// the 64-bit boot protocol asks for (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol": flat 64-bit
/// code at selector 0x10, flat data at 0x18, CS = 0x10, DS = ES = SS = 0x18, interrupts off, %rsi = the
/// boot_params address, then a jump to the load address + 0x200).
public struct KexecPurgatory: Equatable, Sendable {
    /// The physical address the bytes are built for (page-aligned).
    public var base: UInt64
    /// The bytes to load at `base`.
    public var bytes: [UInt8]
    /// Where execution starts (`base` + `codeOffset`).
    public var entry: UInt64 { base + UInt64(Self.codeOffset) }

    /// The most memory the tables map: one PDPT holds 512 GiB.
    public static let maximumGiB = 512
    static let page = 4096
    static let gdtPointerOffset = 0x20
    static let codeOffset = 0x40
    /// The GDT's code and data descriptors, the values the kernel's own boot code uses: base 0, limit 4 GiB,
    /// granularity 4 KiB, present, ring 0; code 0x9a with L=1 (64-bit), data 0x92 read-write.
    static let code64Descriptor: UInt64 = 0x00af_9a00_0000_ffff
    static let dataDescriptor: UInt64 = 0x00cf_9200_0000_ffff

    /// The size of the stub for `mappedGiB`: a page of GDT and code, a stack page, PML5, PML4, PDPT and the
    /// page directories.
    public static func size(mappedGiB: Int) -> Int { (5 + mappedGiB) * page }

    /// Builds the stub to run at `base`, which hands `bootParams` to the kernel loaded at `kernel`.
    public init(base: UInt64, bootParams: UInt64, kernel: UInt64, mappedGiB: Int) {
        precondition(base % UInt64(Self.page) == 0 && (1...Self.maximumGiB).contains(mappedGiB))
        self.base = base
        let page = UInt64(Self.page)
        let stackTop = base + 2 * page
        let pml5 = base + 2 * page
        let pml4 = base + 3 * page
        let pdpt = base + 4 * page
        let directories = base + 5 * page
        var bytes = [UInt8](repeating: 0, count: Self.size(mappedGiB: mappedGiB))
        func put64(_ offset: Int, _ value: UInt64) {
            for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        }
        // GDT: null, unused, code at 0x10, data at 0x18; its pointer (limit, base) for lgdt.
        put64(0x10, Self.code64Descriptor)
        put64(0x18, Self.dataDescriptor)
        bytes[Self.gdtPointerOffset] = 0x1f
        put64(Self.gdtPointerOffset + 2, base)

        var code: [UInt8] = []
        func imm64(_ value: UInt64) { code += (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        code += [0x48, 0xbc]
        imm64(stackTop)  // mov rsp, stackTop
        code += [0x48, 0xb8]
        imm64(base + UInt64(Self.gdtPointerOffset))  // mov rax, gdt pointer
        code += [0x0f, 0x01, 0x10]  // lgdt [rax]
        code += [0x0f, 0x20, 0xe0]  // mov rax, cr4
        code += [0xa9, 0x00, 0x10, 0x00, 0x00]  // test eax, CR4.LA57 (bit 12)
        code += [0x48, 0xb8]
        imm64(pml4)  // mov rax, pml4 (flags unchanged)
        code += [0x74, 0x0a]  // jz past the next instruction (10 bytes)
        code += [0x48, 0xb8]
        imm64(pml5)  // mov rax, pml5
        code += [0x0f, 0x22, 0xd8]  // mov cr3, rax
        code += [0x6a, 0x10]  // push 0x10 (CS)
        let farReturnTarget = code.count + 10 + 1 + 2
        code += [0x48, 0xb8]
        imm64(entryAddress(base, farReturnTarget))  // mov rax, next
        code += [0x50]  // push rax
        code += [0x48, 0xcb]  // retfq: CS = 0x10
        precondition(code.count == farReturnTarget)
        code += [0xb8, 0x18, 0x00, 0x00, 0x00]  // mov eax, 0x18
        code += [0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0x8e, 0xe0, 0x8e, 0xe8]  // mov ds/es/ss/fs/gs, eax
        code += [0x48, 0xbe]
        imm64(bootParams)  // mov rsi, boot_params
        code += [0x31, 0xff, 0x31, 0xed]  // xor edi, edi; xor ebp, ebp
        code += [0x48, 0xb8]
        imm64(kernel + 0x200)  // mov rax, 64-bit entry
        code += [0xff, 0xe0]  // jmp rax
        bytes.replaceSubrange(Self.codeOffset..<Self.codeOffset + code.count, with: code)

        // Tables: PML5[0] -> PML4, PML4[0] -> PDPT, PDPT[i] -> directory i, directory i maps GiB i in 2 MiB pages
        // (present, writable, page size).
        put64(2 * Self.page, pml4 | 0x3)
        put64(3 * Self.page, pdpt | 0x3)
        for gib in 0..<mappedGiB {
            put64(4 * Self.page + 8 * gib, (directories + UInt64(gib) * page) | 0x3)
            for entry in 0..<512 {
                let address = UInt64(gib) << 30 | UInt64(entry) << 21
                put64(5 * Self.page + gib * Self.page + 8 * entry, address | 0x83)
            }
        }
        self.bytes = bytes
    }
}

private func entryAddress(_ base: UInt64, _ offsetInCode: Int) -> UInt64 {
    base + UInt64(KexecPurgatory.codeOffset + offsetInCode)
}
