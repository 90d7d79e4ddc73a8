/// One record of the kernel log.
public struct PrintkRecord: Equatable, Sendable {
    /// `printk_info.ts_nsec`: nanoseconds since boot (local clock).
    public var timestampNanoseconds: UInt64
    /// The message bytes (no trailing newline; may hold any byte).
    public var text: [UInt8]

    public init(timestampNanoseconds: UInt64, text: [UInt8]) {
        self.timestampNanoseconds = timestampNanoseconds
        self.text = text
    }
}

/// The kernel log cannot be decoded from this dump.
public enum PrintkError: Error, Equatable, CustomStringConvertible, Sendable {
    /// VMCOREINFO has no `SYMBOL(prb)`: the kernel is older than 5.10 (the structured `log_buf` layout).
    case legacyLayout(osRelease: String?)
    /// A ring size read from the dump is beyond reason (corrupt dump or wrong offsets).
    case absurdRing(what: String, bits: UInt32)
    /// The ring's arrays together are larger than any kernel log (bytes).
    case oversizedRing(descriptors: UInt64, descriptorBytes: Int, infoBytes: Int, dataBytes: UInt64)

    public var description: String {
        switch self {
        case .legacyLayout(let release):
            return "VMCOREINFO has no SYMBOL(prb): kernel \(release ?? "(unknown release)") predates the lockless "
                + "printk ring of Linux 5.10, whose log oopsd cannot decode; use vmcore-dmesg on the saved vmcore"
        case .absurdRing(let what, let bits):
            return "printk ring: \(what) is 2^\(bits), beyond reason (corrupt dump or wrong VMCOREINFO offsets)"
        case .oversizedRing(let count, let descSize, let infoSize, let dataSize):
            return "printk ring: \(count) descriptors of \(descSize) + \(infoSize) bytes and \(dataSize) bytes of text "
                + "exceed \(PrintkRing.maximumRingBytes) bytes (corrupt dump or wrong VMCOREINFO sizes)"
        }
    }
}

/// The lockless printk ring buffer (Linux 5.10+), located and decoded with VMCOREINFO alone.
///
/// The walk follows the kernel's `printk_ringbuffer` design and the order `vmcore-dmesg` prints:
/// descriptor ids from `tail_id` up to and including `head_id`, skipping records that are neither committed
/// nor finalized or whose id does not match.
public struct PrintkRing: Sendable {
    /// The field layout read from VMCOREINFO.
    public struct Layout: Sendable {
        var prb: UInt64
        var ringbufferSize: Int
        var descSize: Int
        var infoSize: Int
        var descRingOffset: Int
        var textDataRingOffset: Int
        var countBitsOffset: Int
        var descsOffset: Int
        var infosOffset: Int
        var headIDOffset: Int
        var tailIDOffset: Int
        var counterOffset: Int
        var sizeBitsOffset: Int
        var dataOffset: Int
        var stateVarOffset: Int
        var textBlockOffset: Int
        var beginOffset: Int
        var nextOffset: Int
        var timestampOffset: Int
        var textLengthOffset: Int

        /// Reads every entry the decoder needs; the first missing one is the error.
        public init(_ info: VMCoreInfo) throws {
            guard info["SYMBOL(prb)"] != nil else { throw PrintkError.legacyLayout(osRelease: info.osRelease) }
            let purpose = "decoding the printk ring"
            prb = try info.requireSymbol("prb", for: purpose)
            ringbufferSize = try info.requireSize("printk_ringbuffer", for: purpose)
            descSize = try info.requireSize("prb_desc", for: purpose)
            infoSize = try info.requireSize("printk_info", for: purpose)
            descRingOffset = try info.requireOffset("printk_ringbuffer.desc_ring", for: purpose)
            textDataRingOffset = try info.requireOffset("printk_ringbuffer.text_data_ring", for: purpose)
            countBitsOffset = try info.requireOffset("prb_desc_ring.count_bits", for: purpose)
            descsOffset = try info.requireOffset("prb_desc_ring.descs", for: purpose)
            infosOffset = try info.requireOffset("prb_desc_ring.infos", for: purpose)
            headIDOffset = try info.requireOffset("prb_desc_ring.head_id", for: purpose)
            tailIDOffset = try info.requireOffset("prb_desc_ring.tail_id", for: purpose)
            counterOffset = try info.requireOffset("atomic_long_t.counter", for: purpose)
            sizeBitsOffset = try info.requireOffset("prb_data_ring.size_bits", for: purpose)
            dataOffset = try info.requireOffset("prb_data_ring.data", for: purpose)
            stateVarOffset = try info.requireOffset("prb_desc.state_var", for: purpose)
            textBlockOffset = try info.requireOffset("prb_desc.text_blk_lpos", for: purpose)
            beginOffset = try info.requireOffset("prb_data_blk_lpos.begin", for: purpose)
            nextOffset = try info.requireOffset("prb_data_blk_lpos.next", for: purpose)
            timestampOffset = try info.requireOffset("printk_info.ts_nsec", for: purpose)
            textLengthOffset = try info.requireOffset("printk_info.text_len", for: purpose)
        }
    }

    /// Descriptor state bits: the top two bits of `state_var`.
    static let stateShift: UInt64 = 62
    /// The id part of `state_var`.
    static let idMask: UInt64 = ~(3 << 62)
    /// `desc_committed`.
    static let stateCommitted: UInt64 = 1
    /// `desc_finalized`.
    static let stateFinalized: UInt64 = 2

    /// Largest text data ring accepted (2^n bytes): the kernel's `LOG_BUF_LEN_MAX` is 2^31.
    static let maximumDataBits: UInt32 = 31
    /// Most bytes the descriptor, info and text arrays may take together: far beyond any log a capture kernel's
    /// reservation could hold anyway (the kernel's default is 2^17 text bytes and 2^12 descriptors).
    public static let maximumRingBytes: UInt64 = 1 << 30

    /// Every record of the log of `core`, oldest first.
    public static func records(of core: some KernelMemory) throws -> [PrintkRecord] {
        guard let info = core.vmcoreInfo else { throw ELFCoreError(path: core.path, .noVMCoreInfo) }
        let layout = try Layout(info)
        let prbAddress = try core.readVirtualUInt64(layout.prb, what: "printk ring pointer prb")
        let ring = try core.readVirtual(prbAddress, count: layout.ringbufferSize, what: "struct printk_ringbuffer")
        func field(_ offset: Int, _ what: String) throws -> UInt64 {
            guard let value = ring.littleEndian(UInt64.self, at: offset) else {
                throw VMCoreInfoError(
                    key: what, value: String(offset), purpose: "an offset inside SIZE(printk_ringbuffer)")
            }
            return value
        }
        let descRing = layout.descRingOffset
        guard let countBits = ring.littleEndian(UInt32.self, at: descRing + layout.countBitsOffset) else {
            throw VMCoreInfoError(
                key: "OFFSET(prb_desc_ring.count_bits)", value: String(layout.countBitsOffset),
                purpose: "an offset inside SIZE(printk_ringbuffer)")
        }
        let dataRing = layout.textDataRingOffset
        guard let sizeBits = ring.littleEndian(UInt32.self, at: dataRing + layout.sizeBitsOffset) else {
            throw VMCoreInfoError(
                key: "OFFSET(prb_data_ring.size_bits)", value: String(layout.sizeBitsOffset),
                purpose: "an offset inside SIZE(printk_ringbuffer)")
        }
        guard sizeBits <= maximumDataBits else {
            throw PrintkError.absurdRing(what: "the text data ring", bits: sizeBits)
        }
        // The kernel makes one descriptor per 2^PRB_AVGBITS (32) bytes of text: never more descriptors than bytes.
        guard countBits <= sizeBits else { throw PrintkError.absurdRing(what: "the descriptor count", bits: countBits) }
        let count = UInt64(1) << countBits
        let dataSize = UInt64(1) << sizeBits
        // Sizes are at most 2^16 (VMCOREINFO checks) and the count at most 2^31: no product overflows.
        let total = count * UInt64(layout.descSize + layout.infoSize) + dataSize
        guard total <= maximumRingBytes else {
            throw PrintkError.oversizedRing(
                descriptors: count, descriptorBytes: layout.descSize, infoBytes: layout.infoSize, dataBytes: dataSize)
        }
        let descs = try core.readVirtual(
            try field(descRing + layout.descsOffset, "OFFSET(prb_desc_ring.descs)"),
            count: Int(count) * layout.descSize, what: "printk descriptors (\(count) x \(layout.descSize) bytes)")
        let infos = try core.readVirtual(
            try field(descRing + layout.infosOffset, "OFFSET(prb_desc_ring.infos)"),
            count: Int(count) * layout.infoSize, what: "printk_info array (\(count) x \(layout.infoSize) bytes)")
        let data = try core.readVirtual(
            try field(dataRing + layout.dataOffset, "OFFSET(prb_data_ring.data)"),
            count: Int(dataSize), what: "printk text data ring (\(dataSize) bytes)")
        let tail = try field(descRing + layout.tailIDOffset + layout.counterOffset, "OFFSET(prb_desc_ring.tail_id)")
        let head = try field(descRing + layout.headIDOffset + layout.counterOffset, "OFFSET(prb_desc_ring.head_id)")

        var records: [PrintkRecord] = []
        var id = tail
        // At most `count` descriptors exist; the bound only matters for a corrupt head/tail.
        for _ in 0...count {
            if let record = record(id: id, descs: descs, infos: infos, data: data, count: count, layout: layout) {
                records.append(record)
            }
            if id == head { break }
            id = (id &+ 1) & idMask
        }
        return records
    }

    /// The record of descriptor `id`, or nil when it is not committed/finalized or its id does not match.
    static func record(
        id: UInt64, descs: [UInt8], infos: [UInt8], data: [UInt8], count: UInt64, layout: Layout
    ) -> PrintkRecord? {
        let slot = Int(id % count)
        let desc = slot * layout.descSize
        let info = slot * layout.infoSize
        guard let state = descs.littleEndian(UInt64.self, at: desc + layout.stateVarOffset + layout.counterOffset),
            state & idMask == id
        else { return nil }
        let stateBits = state >> stateShift
        guard stateBits == stateCommitted || stateBits == stateFinalized else { return nil }
        let dataSize = UInt64(data.count)
        guard let rawBegin = descs.littleEndian(UInt64.self, at: desc + layout.textBlockOffset + layout.beginOffset),
            let rawNext = descs.littleEndian(UInt64.self, at: desc + layout.textBlockOffset + layout.nextOffset),
            let timestamp = infos.littleEndian(UInt64.self, at: info + layout.timestampOffset),
            let textLength = infos.littleEndian(UInt16.self, at: info + layout.textLengthOffset)
        else { return nil }
        var begin = rawBegin % dataSize
        let next = rawNext % dataSize
        // A data-less record (begin == next) still prints its timestamp.
        guard begin != next else { return PrintkRecord(timestampNanoseconds: timestamp, text: []) }
        // A block that wraps keeps its data at the start of the ring; every block starts with its id (a long).
        if begin > next { begin = 0 }
        begin += 8
        var length = UInt64(textLength)
        if next &- begin < length { length = next &- begin }
        let start = Int(min(begin, dataSize))
        let end = Int(min(begin + length, dataSize))
        return PrintkRecord(timestampNanoseconds: timestamp, text: Array(data[start..<end]))
    }
}
