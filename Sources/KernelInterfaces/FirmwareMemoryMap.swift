import SystemCalls

/// `/sys/firmware/memmap`: the firmware's memory map as the kernel received it (one directory per entry with
/// `start`, `end` (inclusive) and `type`). Frozen into the capture initramfs at arm time as text, one entry a
/// line: `0x<start> 0x<end> <type>`, the sysfs values verbatim. One writer and one parser, both here.
public enum FirmwareMemoryMap {
    /// Where the frozen copy sits inside the capture initramfs.
    public static let pathInInitramfs = "/etc/oopsd/firmware-memmap"
    /// No machine has more entries than this; more in a file means the file is not a memory map.
    public static let maximumEntries = 4096

    /// One entry: `start ... end` inclusive, and the type as sysfs spells it (`System RAM`, `Reserved`, ...).
    public struct Entry: Equatable, Sendable {
        public var start: UInt64
        public var end: UInt64
        public var type: String

        public init(start: UInt64, end: UInt64, type: String) {
            self.start = start
            self.end = end
            self.type = type
        }
    }

    /// Reads `/sys/firmware/memmap` under `root`, in address order.
    public static func read(root: HostRoot) throws -> [Entry] {
        let directory = root.path("/sys/firmware/memmap")
        let names = try FileSystem.listDirectory(directory).filter { Int($0) != nil }
        guard names.count <= maximumEntries else {
            throw KernelFileError(
                path: directory, expected: "at most \(maximumEntries) entries", found: "\(names.count)")
        }
        var entries: [Entry] = []
        for name in names {
            let base = "/sys/firmware/memmap/\(name)"
            func number(_ file: String) throws -> UInt64 {
                let text = try KernelFile.text(base + "/" + file, root: root) ?? ""
                guard text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) else {
                    throw KernelFileError(
                        path: root.path(base + "/" + file), expected: "a 0x hexadecimal number", found: text)
                }
                return value
            }
            entries.append(
                Entry(
                    start: try number("start"), end: try number("end"),
                    type: try KernelFile.text(base + "/type", root: root) ?? ""))
        }
        return entries.sorted { $0.start < $1.start }
    }

    /// The frozen text of `entries`.
    public static func text(_ entries: [Entry]) -> String {
        entries.map { "0x\(String($0.start, radix: 16)) 0x\(String($0.end, radix: 16)) \($0.type)\n" }.joined()
    }

    /// Parses the frozen text; `path` names the file in errors, with the line.
    public static func parse(_ text: String, path: String) throws -> [Entry] {
        var entries: [Entry] = []
        var lineNumber = 0
        for line in text.split(separator: "\n") {
            lineNumber += 1
            guard lineNumber <= maximumEntries else {
                throw KernelFileError(path: path, expected: "at most \(maximumEntries) entries", found: "more")
            }
            let fields = line.split(separator: " ", maxSplits: 2)
            guard fields.count == 3, fields[0].hasPrefix("0x"), fields[1].hasPrefix("0x"),
                let start = UInt64(fields[0].dropFirst(2), radix: 16),
                let end = UInt64(fields[1].dropFirst(2), radix: 16), end >= start
            else {
                throw KernelFileError(
                    path: "\(path) line \(lineNumber)", expected: "0x<start> 0x<end> <type> with start <= end",
                    found: String(line))
            }
            entries.append(Entry(start: start, end: end, type: String(fields[2])))
        }
        return entries
    }

    /// The `System RAM` ranges of `entries` (ends made exclusive; an end of 2^64 - 1 stays inclusive).
    public static func ram(_ entries: [Entry]) -> [PhysicalRange] {
        entries.filter { $0.type == "System RAM" }.map {
            PhysicalRange(start: $0.start, end: $0.end == UInt64.max ? $0.end : $0.end + 1)
        }
    }
}
