/// The `VMCOREINFO` note: `KEY=VALUE` lines the crashed kernel left for dump tools.
public struct VMCoreInfo: Equatable, Sendable {
    /// Every entry, in file order of first appearance (a repeated key keeps its last value).
    public private(set) var entries: [String: String]
    /// The raw note text.
    public let text: String

    /// Parses the note's descriptor (lines end in `\n`; the last one may not; NUL padding is dropped).
    public init(_ descriptor: [UInt8]) {
        let content = descriptor.prefix { $0 != 0 }
        text = String(decoding: content, as: UTF8.self)
        entries = [:]
        for line in content.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let key = String(decoding: line[line.startIndex..<equals], as: UTF8.self)
            let value = String(decoding: line[(equals + 1)...], as: UTF8.self)
            entries[key] = value
        }
    }

    /// The raw value of `key`, e.g. `self["SYMBOL(prb)"]`.
    public subscript(key: String) -> String? { entries[key] }

    /// `OSRELEASE`: the crashed kernel's release (`6.1.0-35-amd64`).
    public var osRelease: String? { entries["OSRELEASE"] }
    /// `BUILD-ID`: the kernel image's GNU build id, hex.
    public var buildID: String? { entries["BUILD-ID"] }
    /// `PAGESIZE`.
    public var pageSize: UInt64? { entries["PAGESIZE"].flatMap { UInt64($0) } }
    /// `KERNELOFFSET`: the KASLR displacement of the kernel text (hex).
    public var kernelOffset: UInt64? { entries["KERNELOFFSET"].flatMap { UInt64($0, radix: 16) } }
    /// `CRASHTIME`: seconds since the epoch when the kernel crashed.
    public var crashTime: Int64? { entries["CRASHTIME"].flatMap { Int64($0) } }

    /// `SYMBOL(name)`: a kernel virtual address (hex).
    public func symbol(_ name: String) -> UInt64? { entries["SYMBOL(\(name))"].flatMap { UInt64($0, radix: 16) } }
    /// `SIZE(type)`: the size of a type in bytes.
    public func size(_ type: String) -> Int? { entries["SIZE(\(type))"].flatMap { Int($0) } }
    /// `OFFSET(type.field)`: the offset of a field in bytes.
    public func offset(_ field: String) -> Int? { entries["OFFSET(\(field))"].flatMap { Int($0) } }
    /// `LENGTH(array)`: the number of elements of an array.
    public func length(_ name: String) -> Int? { entries["LENGTH(\(name))"].flatMap { Int($0) } }
    /// `NUMBER(name)`: a constant (decimal, may be negative).
    public func number(_ name: String) -> Int64? { entries["NUMBER(\(name))"].flatMap { Int64($0) } }
}

/// A needed VMCOREINFO entry is missing or unreadable.
public struct VMCoreInfoError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The key, e.g. `OFFSET(prb_desc.state_var)`.
    public var key: String
    /// The raw value when present but unreadable; nil when missing.
    public var value: String?
    /// What the entry was needed for.
    public var purpose: String
    /// The range the value must lie in, when it is a number outside it.
    public var expected: String?

    public init(key: String, value: String? = nil, purpose: String, expected: String? = nil) {
        self.key = key
        self.value = value
        self.purpose = purpose
        self.expected = expected
    }

    public var description: String {
        if let value, let expected {
            return "VMCOREINFO entry \(key)=\(value) is out of range, expected \(expected) (needed for \(purpose))"
        }
        if let value { return "VMCOREINFO entry \(key)=\(value) is not a valid number (needed for \(purpose))" }
        return "VMCOREINFO has no \(key) (needed for \(purpose))"
    }
}

extension VMCoreInfo {
    /// Largest `SIZE(type)` accepted: the kernel types dump tools read are a few hundred bytes at most.
    public static let maximumTypeSize = 1 << 16
    /// `OFFSET(type.field)` values are accepted below this.
    public static let maximumFieldOffset = 1 << 16

    /// `SYMBOL(name)`, or an error naming the key and `purpose`.
    public func requireSymbol(_ name: String, for purpose: String) throws(VMCoreInfoError) -> UInt64 {
        try require("SYMBOL(\(name))", purpose) { UInt64($0, radix: 16) }
    }
    /// `SIZE(type)` (1 to `maximumTypeSize`), or an error naming the key and the value.
    public func requireSize(_ type: String, for purpose: String) throws(VMCoreInfoError) -> Int {
        try requireNumber("SIZE(\(type))", in: 1...VMCoreInfo.maximumTypeSize, for: purpose)
    }
    /// `OFFSET(type.field)` (0 to `maximumFieldOffset` - 1), or an error naming the key and the value.
    public func requireOffset(_ field: String, for purpose: String) throws(VMCoreInfoError) -> Int {
        try requireNumber("OFFSET(\(field))", in: 0...(VMCoreInfo.maximumFieldOffset - 1), for: purpose)
    }
    /// The decimal entry `key` (e.g. `NUMBER(SECTION_SIZE_BITS)`, `LENGTH(mem_section)`), which must lie in `range`.
    public func requireNumber(
        _ key: String, in range: ClosedRange<Int>, for purpose: String
    ) throws(VMCoreInfoError)
        -> Int
    {
        let value = try require(key, purpose) { Int($0) }
        guard range.contains(value) else {
            throw VMCoreInfoError(
                key: key, value: entries[key], purpose: purpose,
                expected: "\(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }
    /// The decimal entry `key` when present; a value that is not a number or lies outside `range` is an error.
    public func optionalNumber(
        _ key: String, in range: ClosedRange<Int>, for purpose: String
    ) throws(VMCoreInfoError)
        -> Int?
    {
        guard entries[key] != nil else { return nil }
        return try requireNumber(key, in: range, for: purpose)
    }

    private func require<T>(_ key: String, _ purpose: String, _ parse: (String) -> T?) throws(VMCoreInfoError) -> T {
        guard let raw = entries[key] else { throw VMCoreInfoError(key: key, purpose: purpose) }
        guard let value = parse(raw) else { throw VMCoreInfoError(key: key, value: raw, purpose: purpose) }
        return value
    }
}
