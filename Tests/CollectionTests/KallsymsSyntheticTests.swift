import Testing
import VMCore

/// A kallsyms table the test lays out itself, the way `scripts/kallsyms` would.
struct SyntheticKallsyms {
    var tokenTable: [UInt8] = []
    var tokenIndex: [UInt16] = []
    var names: [UInt8] = []
    var offsets: [Int32] = []

    /// Tokens: index 0 = "Tsys", 1 = "rq_", 2..255 = the single byte (index) as a character when printable, else "?".
    init() {
        var tokens: [[UInt8]] = [Array("Tsys".utf8), Array("rq_".utf8)]
        for index in 2..<256 {
            tokens.append((0x21...0x7e).contains(index) ? [UInt8(index)] : Array("?".utf8))
        }
        for token in tokens {
            tokenIndex.append(UInt16(tokenTable.count))
            tokenTable += token + [0]
        }
    }

    /// Encodes `typeAndName` with the two multi-byte tokens where they fit, else byte tokens.
    mutating func add(_ typeAndName: String, offset: Int32) {
        var encoded: [UInt8] = []
        var rest = Substring(typeAndName)
        while !rest.isEmpty {
            if rest.hasPrefix("Tsys") && encoded.isEmpty {
                encoded.append(0)
                rest = rest.dropFirst(4)
            } else if rest.hasPrefix("rq_") {
                encoded.append(1)
                rest = rest.dropFirst(3)
            } else {
                encoded.append(rest.utf8.first!)
                rest = rest.dropFirst()
            }
        }
        if encoded.count < 0x80 {
            names.append(UInt8(encoded.count))
        } else {
            names.append(UInt8(encoded.count & 0x7f) | 0x80)
            names.append(UInt8(encoded.count >> 7))
        }
        names += encoded
        offsets.append(offset)
    }

    func decode(base: UInt64, absolutePercpu: Bool? = nil) throws -> Kallsyms {
        try Kallsyms.decode(
            count: offsets.count,
            readNames: { offset, count in Array(names[min(offset, names.count)..<min(offset + count, names.count)]) },
            tokenTable: tokenTable, tokenIndex: tokenIndex, offsets: offsets, relativeBase: base,
            absolutePercpu: absolutePercpu)
    }
}

@Suite struct KallsymsSyntheticTests {
    static let base: UInt64 = 0xffff_ffff_8100_0000

    /// A relative (no absolute-percpu) table: _stext, two functions, an alias, _etext, a data symbol and _end.
    func relativeTable() -> SyntheticKallsyms {
        var table = SyntheticKallsyms()
        table.add("T_stext", offset: 0)
        table.add("Tsysrq_handle_crash", offset: 0x100)
        table.add("t__handle_sysrq", offset: 0x120)
        table.add("t__handle_sysrq_alias", offset: 0x120)
        table.add("T_etext", offset: 0x400)
        table.add("Djiffies", offset: 0x500)
        table.add("B_end", offset: 0x1000)
        return table
    }

    @Test func decodesNamesTypesAndAddresses() throws {
        let symbols = try relativeTable().decode(base: Self.base)
        #expect(!symbols.absolutePercpu)
        #expect(
            symbols.symbols.map(\.name) == [
                "_stext", "sysrq_handle_crash", "__handle_sysrq", "__handle_sysrq_alias", "_etext", "jiffies", "_end",
            ])
        #expect(symbols.symbols.map(\.type) == ["T", "T", "t", "t", "T", "D", "B"])
        #expect(symbols.address(of: "sysrq_handle_crash") == Self.base + 0x100)
        #expect(symbols.address(of: "nonexistent") == nil)
    }

    @Test func symbolizesLikeTheKernel() throws {
        let symbols = try relativeTable().decode(base: Self.base)
        // Size runs to the next higher address; the first of two aliases wins.
        #expect(symbols.symbolize(Self.base + 0x116)?.description == "sysrq_handle_crash+0x16/0x20")
        #expect(symbols.symbolize(Self.base + 0x130)?.description == "__handle_sysrq+0x10/0x2e0")
        // A return address right after a call at a function's end names the caller (lookup at address - 1).
        #expect(symbols.symbolize(Self.base + 0x120)?.name == "__handle_sysrq")
        #expect(symbols.symbolize(returnAddress: Self.base + 0x120)?.description == "sysrq_handle_crash+0x20/0x20")
        // The last symbol runs to _end; outside the image there is nothing.
        #expect(symbols.symbolize(Self.base + 0x600)?.description == "jiffies+0x100/0xb00")
        #expect(symbols.symbolize(Self.base + 0x1000) == nil)
        #expect(symbols.symbolize(Self.base - 1) == nil)
        #expect(symbols.isKernelText(Self.base + 0x3ff))
        #expect(!symbols.isKernelText(Self.base + 0x400))
        #expect(!symbols.isKernelText(Self.base + 0x500))
    }

    @Test func absolutePercpuOffsets() throws {
        // CONFIG_KALLSYMS_ABSOLUTE_PERCPU: per-CPU symbols are absolute (>= 0), the rest base - 1 - offset.
        var table = SyntheticKallsyms()
        table.add("Afixed_percpu_data", offset: 0)
        table.add("Dcpu_number", offset: 0x2_0000)
        table.add("T_stext", offset: -1)
        table.add("Tsysrq_handle_crash", offset: -1 - 0x100)
        table.add("B_end", offset: -1 - 0x1000)
        let symbols = try table.decode(base: Self.base)
        #expect(symbols.absolutePercpu)
        #expect(symbols.symbols.map(\.address) == [0, 0x2_0000, Self.base, Self.base + 0x100, Self.base + 0x1000])
        // Per-CPU offsets are not kernel addresses: they never symbolize.
        #expect(symbols.symbolize(0x2_0000) == nil)
        #expect(symbols.symbolize(Self.base + 0x101)?.description == "sysrq_handle_crash+0x1/0xf00")
    }

    @Test func twoByteLengthsOfLongNames() throws {
        var table = SyntheticKallsyms()
        let long = "t" + String(repeating: "x", count: 300)  // 301 tokens: needs the big-symbol length encoding
        table.add("T_stext", offset: 0)
        table.add(long, offset: 0x10)
        table.add("Tafter", offset: 0x20)
        let header = table.names.count - 7 - 301 - 2
        #expect(Array(table.names[header...header + 1]) == [UInt8(301 & 0x7f) | 0x80, UInt8(301 >> 7)])
        let symbols = try table.decode(base: Self.base)
        #expect(symbols.symbols.map(\.name) == ["_stext", String(long.dropFirst()), "after"])
        #expect(symbols.symbols[2].address == Self.base + 0x20)
    }

    @Test func truncatedNamesAreAnError() throws {
        var table = relativeTable()
        table.names.removeLast(3)
        #expect(
            throws: KallsymsError.malformed("kallsyms_names ends at byte \(table.names.count) inside symbol 6 of 7")
        ) {
            try table.decode(base: Self.base)
        }
    }

    @Test func badTokenIndexIsAnError() throws {
        var table = relativeTable()
        table.tokenIndex[5] = UInt16(table.tokenTable.count + 10)
        #expect(
            throws: KallsymsError.malformed(
                "kallsyms_token_index[5] = \(table.tokenTable.count + 10) has no NUL-terminated token in the \(table.tokenTable.count)-byte table"
            )
        ) {
            try table.decode(base: Self.base)
        }
    }
}
