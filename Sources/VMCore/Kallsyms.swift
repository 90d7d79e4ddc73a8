/// The crashed kernel's symbol table, decoded from the compressed kallsyms tables VMCOREINFO points at (6.0+).
///
/// Layout facts (kernel `scripts/kallsyms.c`, `kernel/kallsyms.c`):
/// - `kallsyms_names`: per symbol a length (one byte; when its high bit is set, a second byte carries bits 7...14),
///   then that many token indexes; the expansion's first character is the symbol type (`T`, `t`, `D` ...).
/// - `kallsyms_token_table`: NUL-terminated token strings; `kallsyms_token_index`: 256 `u16` offsets into it.
/// - `kallsyms_offsets`: one `s32` per symbol, relative to `kallsyms_relative_base` (where that symbol is gone, as
///   in Debian's 7.x, to the entry's own address); with
///   `CONFIG_KALLSYMS_ABSOLUTE_PERCPU` a non-negative offset is an absolute (per-CPU) address and a negative one
///   means `relative_base - 1 - offset`.
public struct Kallsyms: Sendable {
    /// One symbol of the table.
    public struct Symbol: Equatable, Sendable {
        /// The symbol's name, e.g. `sysrq_handle_crash`.
        public var name: String
        /// The `nm`-style type letter (`T` global text, `t` local text, `D`, `d`, `B`, `R`, `A` ...).
        public var type: Character
        /// Its address in the crashed kernel.
        public var address: UInt64

        public init(name: String, type: Character, address: UInt64) {
            self.name = name
            self.type = type
            self.address = address
        }

        /// Whether the type letter says text (code).
        public var isText: Bool { type == "T" || type == "t" || type == "W" || type == "w" }
    }

    /// An address resolved to `name+offset/size`, the way the kernel prints it (`%pS`).
    public struct Location: Equatable, Sendable, CustomStringConvertible {
        /// The containing symbol's name.
        public var name: String
        /// Bytes from the symbol's start.
        public var offset: UInt64
        /// Bytes up to the next symbol with a higher address.
        public var size: UInt64
        /// The containing symbol's type letter.
        public var type: Character

        public init(name: String, offset: UInt64, size: UInt64, type: Character) {
            self.name = name
            self.offset = offset
            self.size = size
            self.type = type
        }

        /// `name+0xoff/0xsize`, as in the kernel's oops text.
        public var description: String {
            "\(name)+0x\(String(offset, radix: 16))/0x\(String(size, radix: 16))"
        }
    }

    /// Every symbol in table order (sorted by address, as the kernel's build sorts them).
    public let symbols: [Symbol]
    /// Whether the offsets were read with the `CONFIG_KALLSYMS_ABSOLUTE_PERCPU` rule.
    public let absolutePercpu: Bool
    /// The indexes of `symbols` that lie in the kernel's half of the address space, sorted by address.
    private let kernelIndexes: [Int]
    /// End of the symbolizable range (`_end`, else the last symbol's address + 1).
    private let end: UInt64
    /// `[_stext, _etext)` and `[_sinittext, _einittext)` when the table has them.
    private let textRanges: [Range<UInt64>]
    private let byName: [String: Int]

    /// Lowest address of the kernel's half of the x86_64 address space.
    static let kernelHalf: UInt64 = 0xffff_8000_0000_0000

    /// Builds the lookup structures over already decoded symbols.
    public init(symbols: [Symbol], absolutePercpu: Bool) {
        self.symbols = symbols
        self.absolutePercpu = absolutePercpu
        let kernel = symbols.indices.filter { symbols[$0].address >= Kallsyms.kernelHalf }
        // Stable sort: among aliases (same address) the first in table order wins, as in the kernel.
        kernelIndexes = kernel.enumerated().sorted {
            (symbols[$0.element].address, $0.offset) < (symbols[$1.element].address, $1.offset)
        }.map(\.element)
        var names: [String: Int] = [:]
        for (index, symbol) in symbols.enumerated() where names[symbol.name] == nil { names[symbol.name] = index }
        byName = names
        func address(_ name: String) -> UInt64? { names[name].map { symbols[$0].address } }
        end = address("_end") ?? kernelIndexes.last.map { symbols[$0].address &+ 1 } ?? 0
        var ranges: [Range<UInt64>] = []
        if let start = address("_stext"), let stop = address("_etext"), start < stop { ranges.append(start..<stop) }
        if let start = address("_sinittext"), let stop = address("_einittext"), start < stop {
            ranges.append(start..<stop)
        }
        textRanges = ranges
    }

    /// The address of the first symbol called `name`.
    public func address(of name: String) -> UInt64? { byName[name].map { symbols[$0].address } }

    /// Whether `address` lies in the kernel's text (`_stext`..`_etext` or the init text).
    public func isKernelText(_ address: UInt64) -> Bool {
        if textRanges.isEmpty {
            return symbolize(address).map { $0.type == "T" || $0.type == "t" } ?? false
        }
        return textRanges.contains { $0.contains(address) }
    }

    /// The symbol containing `address`, with offset and size; nil outside the kernel image.
    public func symbolize(_ address: UInt64) -> Location? {
        guard let first = kernelIndexes.first, address >= symbols[first].address, address < end else { return nil }
        // Last position whose address <= the wanted one.
        var low = 0
        var high = kernelIndexes.count
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if symbols[kernelIndexes[middle]].address <= address { low = middle } else { high = middle }
        }
        let start = symbols[kernelIndexes[low]].address
        while low > 0 && symbols[kernelIndexes[low - 1]].address == start { low -= 1 }
        var next = end
        var position = low + 1
        while position < kernelIndexes.count {
            let candidate = symbols[kernelIndexes[position]].address
            if candidate > start {
                next = candidate
                break
            }
            position += 1
        }
        let symbol = symbols[kernelIndexes[low]]
        return Location(name: symbol.name, offset: address - start, size: next - start, type: symbol.type)
    }

    /// Symbolizes a return address found on a stack the way the kernel's backtraces do (`%pB`): the lookup uses
    /// `address - 1` so that a call at the very end of a function names that function; the offset is `address`'s.
    public func symbolize(returnAddress address: UInt64) -> Location? {
        guard address > 0, var location = symbolize(address - 1) else { return nil }
        location.offset += 1
        return location
    }
}

extension Kallsyms {
    /// Most bytes of `kallsyms_names` read (a kernel with every option has about 3 MiB).
    public static let maximumNamesSize = 64 << 20
    /// Longest expanded name with its type letter accepted (the kernel's `KSYM_NAME_LEN` is 512).
    public static let maximumNameLength = 1024

    /// Decodes the raw tables. `readNames(offset, count)` returns bytes of `kallsyms_names` from `offset`
    /// (fewer only at the end of what exists); `absolutePercpu` nil decides from the offsets (any negative offset
    /// can only mean the absolute-percpu rule, since a kernel image is far smaller than 2 GiB).
    public static func decode(
        count: Int, readNames: (Int, Int) throws -> [UInt8], tokenTable: [UInt8], tokenIndex: [UInt16],
        offsets: [Int32], relativeBase: UInt64, absolutePercpu: Bool? = nil, namesLimit: Int = maximumNamesSize
    ) throws -> Kallsyms {
        guard tokenIndex.count == 256 else {
            throw KallsymsError.malformed("kallsyms_token_index has \(tokenIndex.count) entries, expected 256")
        }
        guard offsets.count == count else {
            throw KallsymsError.malformed("kallsyms_offsets has \(offsets.count) entries, expected \(count)")
        }
        // Expand each token once.
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(256)
        for (token, start) in tokenIndex.enumerated() {
            let begin = Int(start)
            guard begin < tokenTable.count, let nul = tokenTable[begin...].firstIndex(of: 0) else {
                throw KallsymsError.malformed(
                    "kallsyms_token_index[\(token)] = \(begin) has no NUL-terminated token in the \(tokenTable.count)-byte table"
                )
            }
            tokens.append(Array(tokenTable[begin..<nul]))
        }
        let percpu = absolutePercpu ?? offsets.contains { $0 < 0 }

        // The whole names array is kept (a few MiB at most); it is read in chunks because its length is not recorded.
        var buffer: [UInt8] = []
        let bufferStart = 0
        var position = 0
        let chunk = 1 << 16
        func byte(_ at: Int, symbol: Int) throws -> UInt8 {
            while at >= bufferStart + buffer.count {
                guard buffer.count < namesLimit else {
                    throw KallsymsError.malformed(
                        "kallsyms_names runs past \(namesLimit) bytes before symbol "
                            + "\(symbol) of \(count) (a kernel's table is a few MiB)")
                }
                let more = try readNames(bufferStart + buffer.count, chunk)
                guard !more.isEmpty else {
                    throw KallsymsError.malformed(
                        "kallsyms_names ends at byte \(bufferStart + buffer.count) inside symbol \(symbol) of \(count)")
                }
                buffer += more
            }
            return buffer[at - bufferStart]
        }

        var symbols: [Symbol] = []
        symbols.reserveCapacity(count)
        var expanded: [UInt8] = []
        for index in 0..<count {
            var length = Int(try byte(position, symbol: index))
            var headerSize = 1
            if length & 0x80 != 0 {
                length = (length & 0x7f) | (Int(try byte(position + 1, symbol: index)) << 7)
                headerSize = 2
            }
            guard length > 0 else {
                throw KallsymsError.malformed("symbol \(index) at kallsyms_names+\(position) has length 0")
            }
            expanded.removeAll(keepingCapacity: true)
            for tokenPosition in 0..<length {
                expanded += tokens[Int(try byte(position + headerSize + tokenPosition, symbol: index))]
                guard expanded.count <= maximumNameLength else {
                    throw KallsymsError.malformed(
                        "symbol \(index) at kallsyms_names+\(position) expands to more than "
                            + "\(maximumNameLength) bytes (KSYM_NAME_LEN is 512)")
                }
            }
            position += headerSize + length
            guard let typeByte = expanded.first, expanded.count > 1 else {
                throw KallsymsError.malformed("symbol \(index) at kallsyms_names+\(position) expands to no name")
            }
            let raw = offsets[index]
            let address: UInt64
            if !percpu {
                address = relativeBase &+ UInt64(UInt32(bitPattern: raw))
            } else if raw >= 0 {
                address = UInt64(raw)
            } else {
                address = relativeBase &- 1 &- UInt64(bitPattern: Int64(raw))
            }
            symbols.append(
                Symbol(
                    name: String(decoding: expanded[1...], as: UTF8.self), type: Character(UnicodeScalar(typeByte)),
                    address: address))
        }
        return Kallsyms(symbols: symbols, absolutePercpu: percpu)
    }

    /// Reads and decodes the tables from a dump through VMCOREINFO's `SYMBOL(kallsyms_*)` entries.
    public static func load(from core: some KernelMemory) throws -> Kallsyms {
        guard let info = core.vmcoreInfo else { throw KallsymsError.noVMCoreInfo(path: core.path) }
        let purpose = "decoding the kernel's symbol table (kallsyms, Linux 6.0+)"
        let namesAddress = try info.requireSymbol("kallsyms_names", for: purpose)
        let countAddress = try info.requireSymbol("kallsyms_num_syms", for: purpose)
        let tokenTableAddress = try info.requireSymbol("kallsyms_token_table", for: purpose)
        let tokenIndexAddress = try info.requireSymbol("kallsyms_token_index", for: purpose)
        let offsetsAddress = try info.requireSymbol("kallsyms_offsets", for: purpose)

        let countBytes = try core.readVirtual(countAddress, count: 4, what: "kallsyms_num_syms")
        let count = Int(countBytes.littleEndian(UInt32.self, at: 0)!)
        guard count > 0, count <= 4_000_000 else {
            throw KallsymsError.malformed(
                "kallsyms_num_syms at \(hex(countAddress)) reads \(count), not a plausible count")
        }
        // Up to 6.x the offsets count from kallsyms_relative_base. Where VMCOREINFO has no such symbol (Debian's
        // 7.2 and 7.3) each entry is place-relative: the symbol's distance from &kallsyms_offsets[i] (checked on the
        // 7.3 baseline dump: RIP in __crash_kexec, sysrq_handle_crash in the stack scan). They are re-expressed from
        // _stext, which VMCOREINFO exports, so the decoder's relative rule applies (kernel symbols lie within 4 GiB
        // above it).
        let relativeBase: UInt64
        var absolutePercpu: Bool? = nil
        if let baseAddress = info.symbol("kallsyms_relative_base") {
            relativeBase = try core.readVirtualUInt64(baseAddress, what: "kallsyms_relative_base")
        } else {
            relativeBase = try info.requireSymbol(
                "_stext", for: purpose + " (no SYMBOL(kallsyms_relative_base): place-relative offsets)")
            absolutePercpu = false
        }
        let indexBytes = try core.readVirtual(tokenIndexAddress, count: 512, what: "kallsyms_token_index")
        let tokenIndex = (0..<256).map { indexBytes.littleEndian(UInt16.self, at: 2 * $0)! }
        // The token table is as long as its last token: the highest index plus that token.
        let tableLength = Int(tokenIndex.max()!) + 256
        let tokenTable = try core.readVirtual(tokenTableAddress, count: tableLength, what: "kallsyms_token_table")
        let offsetBytes = try core.readVirtual(offsetsAddress, count: 4 * count, what: "kallsyms_offsets")
        var offsets = (0..<count).map { offsetBytes.littleEndian(Int32.self, at: 4 * $0)! }
        if absolutePercpu == false {
            // Place-relative: entry i is the symbol's distance from &kallsyms_offsets[i]; re-expressed from _stext.
            offsets = offsets.enumerated().map { index, raw in
                let absolute = offsetsAddress &+ UInt64(4 * index) &+ UInt64(bitPattern: Int64(raw))
                return Int32(truncatingIfNeeded: Int64(bitPattern: absolute &- relativeBase))
            }
        }
        return try decode(
            count: count,
            readNames: { offset, length in
                try core.readVirtual(namesAddress &+ UInt64(offset), count: length, what: "kallsyms_names")
            },
            tokenTable: tokenTable, tokenIndex: tokenIndex, offsets: offsets, relativeBase: relativeBase,
            absolutePercpu: absolutePercpu)
    }
}

/// Why the kallsyms tables could not be decoded.
public enum KallsymsError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The dump has no VMCOREINFO note.
    case noVMCoreInfo(path: String)
    /// The tables contradict their layout.
    case malformed(String)

    public var description: String {
        switch self {
        case .noVMCoreInfo(let path): "\(path): no VMCOREINFO note, so no kallsyms tables to decode"
        case .malformed(let problem): "kallsyms tables are malformed: \(problem)"
        }
    }
}
