import VMCore

/// A conservative unwinder: reads the crashing task's kernel stack from the stack pointer to the top of its
/// `THREAD_SIZE`-aligned stack and keeps every word that points into kernel text, symbolized as a return address.
/// Like the kernel's `? ` frames, some entries may be stale; it needs no frame pointers or ORC data.
public struct StackScan: Equatable, Sendable {
    /// One text address found on the stack.
    public struct Entry: Equatable, Sendable, Codable {
        /// Where on the stack it was found.
        public var stackAddress: UInt64
        /// The value (a return address).
        public var address: UInt64
        /// `function+0xoff/0xsize`, symbolized as a return address.
        public var symbol: String
        /// The function name alone.
        public var function: String
    }

    /// x86_64 `THREAD_SIZE` without KASAN (16 KiB).
    public static let threadSize: UInt64 = 16 * 1024
    /// At most this many entries are kept.
    public static let maximumEntries = 64

    /// The bytes to read for `stackPointer`: from it (8-byte aligned) to the end of its `threadSize`-aligned stack.
    /// The saved RSP comes from the dump: a stack that would end past 2^64 is no stack, and an error.
    public static func range(
        stackPointer: UInt64, threadSize: UInt64 = StackScan.threadSize
    ) throws(StackScanError)
        -> Range<UInt64>
    {
        precondition(threadSize > 0 && threadSize & (threadSize - 1) == 0, "THREAD_SIZE is a power of two")
        let start = stackPointer & ~UInt64(7)
        let (top, overflow) = (stackPointer & ~(threadSize - 1)).addingReportingOverflow(threadSize)
        guard !overflow, start < top else { throw .stackOutsideAddressSpace(stackPointer: stackPointer) }
        return start..<top
    }

    /// The entries, innermost first.
    public var entries: [Entry]
    /// The range that was read.
    public var range: Range<UInt64>

    /// Scans from `stackPointer` to the end of its stack.
    public init(
        core: some KernelMemory, symbols: Kallsyms, stackPointer: UInt64, threadSize: UInt64 = StackScan.threadSize
    ) throws {
        range = try StackScan.range(stackPointer: stackPointer, threadSize: threadSize)
        let (start, top) = (range.lowerBound, range.upperBound)
        let bytes = try core.readKernelVirtual(start, count: Int(top - start), what: "the crashing task's stack")
        var found: [Entry] = []
        var offset = 0
        while offset + 8 <= bytes.count && found.count < StackScan.maximumEntries {
            let value = bytes.littleEndian(UInt64.self, at: offset)!
            if symbols.isKernelText(value), let location = symbols.symbolize(returnAddress: value) {
                found.append(
                    Entry(
                        stackAddress: start + UInt64(offset), address: value, symbol: location.description,
                        function: location.name))
            }
            offset += 8
        }
        entries = found
    }
}

/// Why the stack scan could not run.
public enum StackScanError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The stack of this RSP would run past the end of the address space.
    case stackOutsideAddressSpace(stackPointer: UInt64)

    public var description: String {
        switch self {
        case .stackOutsideAddressSpace(let rsp):
            "RSP 0x\(String(rsp, radix: 16)): its THREAD_SIZE stack would run past the end of the address space"
        }
    }
}
