/// The record oopsd's kernel module leaves before it sends an oops to the capture kernel (layout:
/// `Kernel/BREADCRUMB.md`, version 1): the die event and the registers of the oops itself, which the
/// dump's `NT_PRSTATUS` notes cannot show because they stop at `panic()`.
public struct Breadcrumb: Equatable, Sendable {
    public var event: UInt32
    public var trapNumber: Int32
    public var signal: Int32
    public var cpu: UInt32
    public var errorCode: UInt64
    public var taint: UInt64
    public var realtimeNanoseconds: UInt64
    public var clockNanoseconds: UInt64
    public var oopsCount: UInt32
    public var pid: Int32
    public var tgid: Int32
    /// ELF `e_machine` of the crashed kernel (62 = x86_64).
    public var architecture: UInt16
    public var command: String
    /// The die string: `Oops`, `invalid opcode`, `general protection fault`, ….
    public var dieString: String
    /// The 21 `pt_regs` values on x86_64, in `PRStatus.RegisterName` order (r15 … ss).
    public var registers: [UInt64]

    /// The record's magic, `OOPSDBRC`.
    public static let magic = Array("OOPSDBRC".utf8)
    /// Offset of the register block.
    static let registersOffset = 160

    /// The faulting instruction pointer (x86_64 `rip`).
    public var instructionPointer: UInt64? {
        registers.count > PRStatus.RegisterName.rip.rawValue ? registers[PRStatus.RegisterName.rip.rawValue] : nil
    }

    /// The name of the die event on x86.
    public var eventName: String {
        switch event {
        case 1: "DIE_OOPS"
        case 8: "DIE_TRAP"
        case 9: "DIE_GPF"
        default: "event \(event)"
        }
    }

    /// Why bytes are not a breadcrumb.
    public enum Problem: Error, Equatable, CustomStringConvertible, Sendable {
        /// The page holds no record: the crash did not come through the module.
        case absent
        case unsupportedVersion(UInt16)
        case badSize(UInt16)
        case checksumMismatch(stored: UInt32, computed: UInt32)

        public var description: String {
            switch self {
            case .absent: "no breadcrumb (no OOPSDBRC magic): the crash did not come through oopsd's module"
            case .unsupportedVersion(let version): "breadcrumb version \(version) is not supported (expected 1)"
            case .badSize(let size): "breadcrumb size \(size) does not fit version 1 (expected 160 + regs_size)"
            case .checksumMismatch(let stored, let computed):
                "breadcrumb checksum mismatch: stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16))"
            }
        }
    }

    /// Decodes a record from `bytes` (at least one page read at the breadcrumb's address).
    public init(bytes: [UInt8]) throws(Problem) {
        guard bytes.count >= 16, Array(bytes[0..<8]) == Self.magic else { throw .absent }
        // Offsets below are checked against `size` (>= 160) or the 16-byte minimum first.
        func u16(_ at: Int) -> UInt16 { bytes.littleEndian(UInt16.self, at: at) ?? 0 }
        func u32(_ at: Int) -> UInt32 { bytes.littleEndian(UInt32.self, at: at) ?? 0 }
        func u64(_ at: Int) -> UInt64 { bytes.littleEndian(UInt64.self, at: at) ?? 0 }
        let version = u16(8)
        guard version == 1 else { throw .unsupportedVersion(version) }
        let size = u16(10)
        let registersSize = bytes.count >= 80 ? u16(78) : 0
        guard Int(size) <= bytes.count, Int(size) == Self.registersOffset + Int(registersSize), registersSize % 8 == 0
        else { throw .badSize(size) }
        let stored = u32(12)
        let computed = CRC32.checksum(bytes[16..<Int(size)])
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        func text(_ range: Range<Int>) -> String {
            String(decoding: bytes[range].prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        event = u32(16)
        trapNumber = Int32(bitPattern: u32(20))
        signal = Int32(bitPattern: u32(24))
        cpu = u32(28)
        errorCode = u64(32)
        taint = u64(40)
        realtimeNanoseconds = u64(48)
        clockNanoseconds = u64(56)
        oopsCount = u32(64)
        pid = Int32(bitPattern: u32(68))
        tgid = Int32(bitPattern: u32(72))
        architecture = u16(76)
        command = text(80..<96)
        dieString = text(96..<160)
        registers = (0..<Int(registersSize) / 8).map { u64(Self.registersOffset + $0 * 8) }
    }

    /// Reads the breadcrumb at physical `address` of `core`.
    public static func read(from core: ELFCore, physicalAddress address: UInt64) throws -> Breadcrumb {
        try Breadcrumb(bytes: core.readPhysical(address, count: 4096, what: "the oopsd breadcrumb"))
    }

    /// The kernel command-line parameter that carries the breadcrumb's address to the capture kernel.
    public static let commandLineParameter = "oopsd.breadcrumb"

    /// The address given by `oopsd.breadcrumb=0x…` in a kernel command line, if any.
    public static func address(inCommandLine text: String) -> UInt64? {
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        where word.hasPrefix(commandLineParameter + "=") {
            var value = word.dropFirst(commandLineParameter.count + 1)
            if value.hasPrefix("0x") { value = value.dropFirst(2) }
            return UInt64(value, radix: 16)
        }
        return nil
    }
}

/// CRC-32 (IEEE 802.3, reflected 0xEDB88320, as zlib's crc32()).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
