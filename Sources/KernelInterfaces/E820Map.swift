import SystemCalls

/// One entry of the firmware's memory map (`struct boot_e820_entry`: 64-bit address, 64-bit size, 32-bit type).
public struct E820Entry: Equatable, Sendable {
    /// The first byte.
    public var address: UInt64
    /// The number of bytes.
    public var size: UInt64
    /// `E820_TYPE_*`: 1 RAM, 2 reserved, 3 ACPI data, 4 ACPI NVS, 5 unusable, 7 persistent memory, ...
    public var type: UInt32

    /// `E820_TYPE_RAM`.
    public static let ram: UInt32 = 1

    public init(address: UInt64, size: UInt64, type: UInt32) {
        self.address = address
        self.size = size
        self.type = type
    }
}

/// A range of physical addresses, `start ..< end`.
public struct PhysicalRange: Equatable, Sendable, CustomStringConvertible {
    public var start: UInt64
    public var end: UInt64

    public init(start: UInt64, end: UInt64) {
        self.start = start
        self.end = end
    }

    public var description: String { "0x\(String(start, radix: 16))-0x\(String(end, radix: 16))" }

    /// Whether the two ranges share a byte.
    public func overlaps(_ other: PhysicalRange) -> Bool { start < other.end && other.start < end }

    /// Sorts `ranges` and joins those that touch or overlap.
    public static func merged(_ ranges: [PhysicalRange]) -> [PhysicalRange] {
        var result: [PhysicalRange] = []
        for range in ranges.sorted(by: { $0.start < $1.start }) where range.end > range.start {
            if let last = result.last, range.start <= last.end {
                result[result.count - 1].end = max(last.end, range.end)
            } else {
                result.append(range)
            }
        }
        return result
    }
}

/// The firmware's memory map as the production kernel saw it at boot, read from two places that must agree:
/// the e820 table inside `struct boot_params` (what a bootloader hands the next kernel) and
/// `/sys/firmware/memmap` (the kernel's copy of the firmware map, kept unchanged by later reservations).
/// A capture kernel's own map describes only the crash reservation, so the return kernel's map must come from
/// these, frozen at arm time.
public enum E820Map {
    /// `E820_MAX_ENTRIES_ZEROPAGE`: the table in `struct boot_params` has room for 128 entries.
    public static let maximumEntries = 128
    /// `e820_entries` (u8) and `e820_table` (128 × 20 bytes) in `struct boot_params`.
    static let countOffset = 0x1e8
    static let tableOffset = 0x2d0
    static let entrySize = 20

    /// The entries of the e820 table in a 4096-byte `boot_params`; `path` names the file in errors.
    public static func entries(inBootParams bytes: [UInt8], path: String) throws -> [E820Entry] {
        guard bytes.count == BootParams.size else {
            throw KernelFileError(
                path: path, expected: "4096 bytes of struct boot_params", found: "\(bytes.count) bytes")
        }
        let count = Int(bytes[countOffset])
        guard count > 0, count <= maximumEntries else {
            throw KernelFileError(
                path: path, expected: "1 to \(maximumEntries) e820 entries (byte 0x1e8)", found: "\(count)")
        }
        return (0..<count).map { index in
            let base = tableOffset + index * entrySize
            return E820Entry(
                address: BootParams.u64(bytes, base), size: BootParams.u64(bytes, base + 8),
                type: BootParams.u32(bytes, base + 16))
        }
    }

    /// The usable RAM of `entries`, merged.
    public static func ram(_ entries: [E820Entry]) -> [PhysicalRange] {
        PhysicalRange.merged(
            entries.filter { $0.type == E820Entry.ram && $0.size > 0 }.map {
                PhysicalRange(start: $0.address, end: $0.address &+ $0.size)
            })
    }

    /// Checks that `entries` is a plausible map whose RAM equals `firmwareRAM` (from `/sys/firmware/memmap`):
    /// no entry wraps past 2^64, there is RAM above 1 MiB, and the two sources agree. Returns the RAM ranges.
    public static func checked(
        _ entries: [E820Entry], firmwareRAM: [PhysicalRange], path: String
    ) throws
        -> [PhysicalRange]
    {
        for (index, entry) in entries.enumerated() {
            guard entry.address.addingReportingOverflow(entry.size).overflow == false else {
                throw KernelFileError(
                    path: path, expected: "e820 entry \(index) inside the 64-bit address space",
                    found: "address 0x\(String(entry.address, radix: 16)) size 0x\(String(entry.size, radix: 16))")
            }
        }
        let ram = ram(entries)
        guard ram.contains(where: { $0.end > 1 << 20 }) else {
            throw KernelFileError(path: path, expected: "RAM above 1 MiB in the e820 table", found: "\(ram)")
        }
        let firmware = PhysicalRange.merged(firmwareRAM)
        guard ram == firmware else {
            throw KernelFileError(
                path: path,
                expected: "the RAM of /sys/firmware/memmap (\(firmware.map(\.description).joined(separator: " ")))",
                found: ram.map(\.description).joined(separator: " "))
        }
        return ram
    }
}
