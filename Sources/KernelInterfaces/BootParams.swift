import SystemCalls

/// `struct boot_params` (the "zero page", Documentation/arch/x86/zero-page.rst) for the kernel oopsd-capture
/// returns to. The template is the production kernel's own, `/sys/kernel/boot_params/data`, frozen at arm time:
/// it carries what the firmware told the bootloader (the e820 memory map, `acpi_rsdp_addr`, `screen_info`,
/// EDD data), which the capture kernel cannot know. Over it go the new kernel's setup header and the fields a
/// bootloader fills in.
public enum BootParams {
    /// The size of `struct boot_params`, and of `/sys/kernel/boot_params/data`.
    public static let size = 4096
    /// Where the frozen template sits inside the capture initramfs.
    public static let pathInInitramfs = "/etc/oopsd/boot_params"
    /// Where the production kernel exports its boot parameters.
    public static let sysfsPath = "/sys/kernel/boot_params/data"
    /// `type_of_loader` 0xff: "undefined", as boot.rst asks of a loader without an assigned ID.
    public static let loaderType: UInt8 = 0xff

    /// Where the pieces of the next boot lie in physical memory.
    public struct Placement: Equatable, Sendable {
        /// The protected-mode kernel's load address.
        public var kernel: UInt64
        /// The command line (NUL-terminated).
        public var commandLine: UInt64
        /// The initramfs and its size in bytes.
        public var initramfs: UInt64
        public var initramfsSize: UInt64

        public init(kernel: UInt64, commandLine: UInt64, initramfs: UInt64, initramfsSize: UInt64) {
            self.kernel = kernel
            self.commandLine = commandLine
            self.initramfs = initramfs
            self.initramfsSize = initramfsSize
        }
    }

    /// The boot parameters for a kernel whose file starts with `kernelPrefix` (at least up to
    /// `header.headerEnd`), placed as `placement` says, from the 4096-byte `template`.
    ///
    /// Kept from the template: everything the firmware reported (e820 table, ACPI RSDP, screen, EDD).
    /// Replaced: the setup header (0x1f1 up to 0x202 + byte 0x201) by the new kernel's own, then the loader's
    /// fields: `type_of_loader`, `code32_start`, the command line and initramfs pointers (low 32 bits in the
    /// header, high 32 in `ext_*`), `setup_data` = 0 (none: the production kernel's list points into memory the
    /// capture overwrote), and `sentinel` = 0 (a non-zero sentinel makes the kernel distrust the `ext_*` fields).
    /// Cleared: `efi_info`, because a kernel that finds it calls `SetVirtualAddressMap` a second time, which the
    /// UEFI specification forbids; the returned kernel therefore runs without EFI runtime services.
    public static func make(
        template: [UInt8], kernelPrefix: [UInt8], header: BzImageHeader, placement: Placement
    ) -> [UInt8] {
        precondition(template.count == size && kernelPrefix.count >= header.headerEnd)
        var bytes = template
        for offset in BzImageHeader.headerStart..<header.headerEnd { bytes[offset] = kernelPrefix[offset] }
        for offset in 0x1c0..<0x1e0 { bytes[offset] = 0 }  // efi_info
        bytes[0x1ef] = 0  // sentinel
        bytes[0x210] = loaderType
        bytes[0x211] |= 0x01  // LOADED_HIGH: the protected-mode kernel is not at 0x10000
        bytes[0x211] &= ~0x40  // KEEP_SEGMENTS: we load our own segments
        put32(&bytes, 0x214, UInt32(truncatingIfNeeded: placement.kernel))  // code32_start
        put32(&bytes, 0x218, UInt32(truncatingIfNeeded: placement.initramfs))  // ramdisk_image
        put32(&bytes, 0x21c, UInt32(truncatingIfNeeded: placement.initramfsSize))  // ramdisk_size
        put32(&bytes, 0x0c0, UInt32(truncatingIfNeeded: placement.initramfs >> 32))  // ext_ramdisk_image
        put32(&bytes, 0x0c4, UInt32(truncatingIfNeeded: placement.initramfsSize >> 32))  // ext_ramdisk_size
        put32(&bytes, 0x228, UInt32(truncatingIfNeeded: placement.commandLine))  // cmd_line_ptr
        put32(&bytes, 0x0c8, UInt32(truncatingIfNeeded: placement.commandLine >> 32))  // ext_cmd_line_ptr
        put64(&bytes, 0x250, 0)  // setup_data
        return bytes
    }

    /// The template as frozen: the fields `make` replaces are zeroed (the setup header and its room up to 0x290,
    /// `efi_info`, `sentinel`, the `ext_*` pointers), so that the production kernel's boot parameters freeze to the
    /// same bytes whether it was started by the firmware's loader or by a kexec return, and the capture image
    /// built after a return is found in the cache.
    public static func canonicalTemplate(_ template: [UInt8]) -> [UInt8] {
        guard template.count == size else { return template }
        var bytes = template
        for range in [
            0x0c0..<0x0cc, 0x1c0..<0x1e0, 0x1ef..<0x1f0, BzImageHeader.headerStart..<BzImageHeader.headerRoomEnd,
        ] {
            for offset in range { bytes[offset] = 0 }
        }
        return bytes
    }

    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    static func u64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        UInt64(u32(bytes, offset)) | UInt64(u32(bytes, offset + 4)) << 32
    }

    static func put32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    static func put64(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt64) {
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }
}
