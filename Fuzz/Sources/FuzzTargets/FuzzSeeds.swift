import DumpFormat
import SystemCalls
import VMCore

#if canImport(Glibc)
import Glibc
#endif

/// The seed corpus of each target: small inputs derived from the test fixtures and, when the VM harness left them,
/// from real vmcores (their headers and notes, VMCOREINFO and the first symbols of kallsyms, never their memory).
public enum FuzzSeeds {
    /// Writes `target`'s seeds into `directory`. `vmcores` are real ELF vmcores; `files` are copied as they are
    /// (configuration files, metadata.json).
    public static func write(target: String, to directory: String, vmcores: [String], files: [String]) {
        var seeds: [(String, [UInt8])] = []
        switch target {
        case "elf":
            seeds.append(("fixture-printk", PrintkRingFixture.core().bytes()))
            seeds.append(("fixture-pagewalk-head", Array(PageWalkFixture.core().bytes().prefix(8192))))
            for (name, core) in open(vmcores) {
                let end = core.programHeaders.filter { $0.type == ProgramHeader.typeNote }.map(\.fileRange.upperBound)
                    .max()
                if let end, let bytes = try? core.readBytes(atFileOffset: 0, count: Int(end), what: "seed") {
                    seeds.append(("\(name)-headers-notes", bytes))
                }
            }
        case "notes":
            seeds.append(("fixture", PrintkRingFixture.core().notes.flatMap { $0.encoded() }))
            for (name, core) in open(vmcores) {
                seeds.append(("\(name)-notes", core.notes.flatMap { $0.encoded() }))
            }
        case "vmcoreinfo":
            seeds.append(("fixture", Array((PageWalkFixture.vmcoreinfo() + PrintkRingFixture.vmcoreinfo).utf8)))
            for (name, core) in open(vmcores) {
                if let text = core.vmcoreInfo?.text { seeds.append(("\(name)-vmcoreinfo", Array(text.utf8))) }
            }
        case "printk":
            seeds.append(("fixture", PrintkRingFixture.core().segments[1].data))
        case "kallsyms":
            seeds.append(("synthetic", syntheticKallsyms()))
            for (name, core) in open(vmcores) {
                if let bytes = realKallsyms(core, symbols: 400) { seeds.append(("\(name)-kallsyms-400", bytes)) }
            }
        case "pagewalk":
            seeds.append(("fixture", Array(PageWalkFixture.memory()[4096..<(7 * 4096)])))
            seeds.append(("fixture-order-64", Array(PageWalkFixture.memory(buddyOrder: 64)[4096..<(7 * 4096)])))
        case "kdump":
            let memory = (0..<4).flatMap { page in (0..<4096).map { UInt8(truncatingIfNeeded: $0 * (page + 1) / 16) } }
            seeds.append(("roundtrip-level1", [0x20 | 1] + memory + [UInt8](repeating: 0, count: 4096)))
            seeds.append(("roundtrip-level31-zlib", [0x40 | 31] + memory))
            if let file = kdumpFile() { seeds.append(("reader-fixture", [0x80] + file)) }
        case "config", "json":
            if target == "json" {
                var state = UploadState()
                state.targets["s3"] = .init(
                    shipped: true, url: "s3://bucket/dump", bytesSent: 10, bytesTotal: 10,
                    updated: "2026-12-03T10:00:00Z", shippedAt: "2026-12-03T10:00:00Z")
                state.targets["sftp"] = .init(
                    url: "sftp://host/x", bytesSent: 3, bytesTotal: 9, error: "timeout",
                    updated: "2026-12-03T10:00:00Z")
                seeds.append(("upload-state", state.bytes))
            }
            for file in files {
                if let bytes = try? FileSystem.readBytes(file, limit: 1 << 20) {
                    seeds.append((Path.lastComponent(Path.parent(file)) + "-" + Path.lastComponent(file), bytes))
                    if target == "config" && Path.lastComponent(file) == "oopsd.conf" {
                        seeds.append(("every-key", everyKey(bytes)))
                    }
                }
            }
        default:
            fatalError("no fuzz target \(target)")
        }
        for (name, bytes) in seeds {
            try? FileSystem.writeAtomically(Path.join(directory, "seed-" + name), bytes, mode: 0o644)
        }
    }

    static func open(_ paths: [String]) -> [(String, ELFCore)] {
        paths.enumerated().compactMap { index, path in
            (try? ELFCore.open(path)).map { ("vmcore\(index)-" + ($0.vmcoreInfo?.osRelease ?? "unknown"), $0) }
        }
    }

    /// The input layout of `FuzzTargets.kallsyms` for `count` symbols.
    static func kallsymsInput(
        count: Int, relativeBase: UInt64, table: [UInt8], index: [UInt8], offsets: [UInt8],
        names: [UInt8]
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt32(count))
        bytes.appendLittleEndian(relativeBase)
        bytes.appendLittleEndian(UInt16(table.count))
        return bytes + table + index + offsets + names
    }

    static func syntheticKallsyms() -> [UInt8] {
        // Tokens: 0 "T", 1 "t", 2..255 single letters; three symbols: "Tstart", "tmid", "Tend".
        var table: [UInt8] = []
        var index: [UInt8] = []
        for token in 0..<256 {
            index.appendLittleEndian(UInt16(table.count))
            table += [token == 0 ? UInt8(ascii: "T") : token == 1 ? UInt8(ascii: "t") : UInt8(97 + token % 26), 0]
        }
        func name(_ text: String) -> [UInt8] {
            let tokens = text.utf8.map {
                $0 == UInt8(ascii: "T") ? UInt8(0) : $0 == UInt8(ascii: "t") ? 1 : 2 + ($0 - 97)
            }
            return [UInt8(tokens.count)] + tokens
        }
        var offsets: [UInt8] = []
        for offset in [Int32(0), 0x100, 0x200] { offsets.appendLittleEndian(offset) }
        return kallsymsInput(
            count: 3, relativeBase: 0xffff_ffff_8100_0000, table: table, index: index,
            offsets: offsets, names: name("Tstart") + name("tmid") + name("Tend"))
    }

    /// The first `symbols` symbols of a real kernel's tables, read through VMCOREINFO.
    static func realKallsyms(_ core: ELFCore, symbols: Int) -> [UInt8]? {
        guard let info = core.vmcoreInfo, let names = info.symbol("kallsyms_names"),
            let tokenTable = info.symbol("kallsyms_token_table"), let tokenIndex = info.symbol("kallsyms_token_index"),
            let offsets = info.symbol("kallsyms_offsets"), let base = info.symbol("kallsyms_relative_base"),
            let indexBytes = try? core.readVirtual(tokenIndex, count: 512, what: "seed"),
            let baseValue = try? core.readVirtualUInt64(base, what: "seed"),
            let nameBytes = try? core.readVirtual(names, count: 64 << 10, what: "seed")
        else { return nil }
        let highest = (0..<256).map { Int(indexBytes.littleEndian(UInt16.self, at: 2 * $0)!) }.max()!
        guard let table = try? core.readVirtual(tokenTable, count: highest + 256, what: "seed"),
            let offsetBytes = try? core.readVirtual(offsets, count: 4 * symbols, what: "seed")
        else { return nil }
        var position = 0
        for _ in 0..<symbols {
            guard position + 2 < nameBytes.count else { return nil }
            var length = Int(nameBytes[position])
            var header = 1
            if length & 0x80 != 0 {
                length = length & 0x7f | Int(nameBytes[position + 1]) << 7
                header = 2
            }
            position += header + length
        }
        return kallsymsInput(
            count: symbols, relativeBase: baseValue, table: table, index: indexBytes,
            offsets: offsetBytes, names: Array(nameBytes.prefix(position)))
    }

    /// A small kdump file written from the printk fixture with four pages of memory.
    static func kdumpFile() -> [UInt8]? {
        var synthetic = PrintkRingFixture.core()
        synthetic.segments.append(
            .init(
                virtualAddress: SyntheticCore.pageOffset + 0x0100_0000,
                physicalAddress: 0x0100_0000, data: (0..<(4 * 4096)).map { UInt8(truncatingIfNeeded: $0 / 64) }))
        guard let core = try? ELFCore.open(FuzzInput.file("seed-input", synthetic.bytes())) else { return nil }
        defer { try? core.close() }
        let path = FuzzInput.file("seed.kdump", [])
        guard let output = try? FileDescriptor.open(path, [.readWrite]) else { return nil }
        defer { try? output.close() }
        var statistics = WriteStatistics()
        try? KdumpWriter(compression: .zstd, threads: 1).write(
            core,
            selection: PageSelector.select(
                core,
                level: DumpLevel(1)!), excludeZeroPages: true, to: output, statistics: &statistics)
        return try? FileSystem.readBytes(path)
    }

    /// The default oopsd.conf without its comments: every section and every key it lists (commented out there),
    /// in about 550 bytes, so that a run with a short `-max_len` still starts from every key.
    static func everyKey(_ conf: [UInt8]) -> [UInt8] {
        var lines: [Substring] = []
        for line in String(decoding: conf, as: UTF8.self).split(separator: "\n") {
            let text = line.drop { $0 == "#" }
            let isSection = text.first == "[" && text.last == "]"
            let isKey = line.first == "#" && text.first?.isLetter == true && text.contains("=") && !text.contains(" ")
            if isSection || isKey { lines.append(text) }
        }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }
}
