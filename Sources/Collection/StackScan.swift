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

    /// The entries, innermost first.
    public var entries: [Entry]
    /// The range that was read.
    public var range: Range<UInt64>

    /// Scans from `stackPointer` to the end of its stack.
    public init(core: some KernelMemory, symbols: Kallsyms, stackPointer: UInt64, threadSize: UInt64 = StackScan.threadSize) throws {
        let start = stackPointer & ~UInt64(7)
        let top = (stackPointer & ~(threadSize - 1)) &+ threadSize
        range = start..<top
        let bytes = try core.readKernelVirtual(start, count: Int(top - start), what: "the crashing task's stack")
        var found: [Entry] = []
        var offset = 0
        while offset + 8 <= bytes.count && found.count < StackScan.maximumEntries {
            let value = bytes.littleEndian(UInt64.self, at: offset)!
            if symbols.isKernelText(value), let location = symbols.symbolize(returnAddress: value) {
                found.append(Entry(
                    stackAddress: start + UInt64(offset), address: value, symbol: location.description,
                    function: location.name))
            }
            offset += 8
        }
        entries = found
    }
}
