import SystemCalls

/// One line of `/proc/iomem`: a physical address range, its name and its nesting depth.
public struct IOMemRange: Equatable, Sendable {
    /// First byte of the range.
    public var start: UInt64
    /// Last byte of the range (inclusive, as the kernel prints it).
    public var end: UInt64
    /// The resource name, e.g. `System RAM` or `Crash kernel`.
    public var name: String
    /// Nesting depth: 0 for top-level resources, +1 for each two spaces of indentation.
    public var depth: Int

    public init(start: UInt64, end: UInt64, name: String, depth: Int) {
        self.start = start
        self.end = end
        self.name = name
        self.depth = depth
    }

    /// Number of bytes covered.
    public var size: UInt64 { end &- start &+ 1 }
}

/// The parsed `/proc/iomem` resource tree, flattened in file order.
public struct IOMemMap: Equatable, Sendable {
    /// Every range in file order.
    public var ranges: [IOMemRange]

    /// Parses the text of `/proc/iomem`; `path` names the file in errors.
    public init(parsing text: String, path: String = "/proc/iomem") throws {
        var ranges: [IOMemRange] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if rawLine.isEmpty { continue }
            let indent = rawLine.prefix(while: { $0 == " " }).count
            let body = rawLine.dropFirst(indent)
            let expected = "\"<hex start>-<hex end> : <name>\""
            let parts = body.split(separator: " : ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw KernelFileError(path: path, expected: expected, found: String(rawLine), line: lineNumber)
            }
            let bounds = parts[0].split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 2, let start = UInt64(bounds[0], radix: 16), let end = UInt64(bounds[1], radix: 16),
                end >= start
            else {
                throw KernelFileError(path: path, expected: expected, found: String(rawLine), line: lineNumber)
            }
            ranges.append(IOMemRange(start: start, end: end, name: String(parts[1]), depth: indent / 2))
        }
        self.ranges = ranges
    }

    /// Reads and parses `/proc/iomem` under `root`.
    public static func read(root: HostRoot) throws -> IOMemMap {
        let path = root.path("/proc/iomem")
        return try IOMemMap(parsing: try FileSystem.readText(path), path: path)
    }

    /// The `Crash kernel` ranges (nested under `System RAM` at any depth).
    public var crashKernelRanges: [IOMemRange] { ranges.filter { $0.name == "Crash kernel" } }
}
