import Testing

@testable import VMCore

@Suite struct BreadcrumbTests {
    /// A version-1 x86_64 record as `Kernel/BREADCRUMB.md` lays it out.
    static func record(rip: UInt64 = 0xffff_ffff_c03a_3358, corrupt: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = Array("OOPSDBRC".utf8)
        bytes.appendLittleEndian(UInt16(1))
        bytes.appendLittleEndian(UInt16(328))
        bytes.appendLittleEndian(UInt32(0))  // crc, filled below
        bytes.appendLittleEndian(UInt32(1))  // DIE_OOPS
        bytes.appendLittleEndian(Int32(0))  // trapnr
        bytes.appendLittleEndian(Int32(11))  // SIGSEGV
        bytes.appendLittleEndian(UInt32(0))  // cpu
        bytes.appendLittleEndian(UInt64(2))  // err
        bytes.appendLittleEndian(UInt64(0x3000))  // taint
        bytes.appendLittleEndian(UInt64(1_795_661_482_668_858_820))
        bytes.appendLittleEndian(UInt64(14_050_885_805))
        bytes.appendLittleEndian(UInt32(1))  // oops count
        bytes.appendLittleEndian(Int32(139))
        bytes.appendLittleEndian(Int32(139))
        bytes.appendLittleEndian(UInt16(62))
        bytes.appendLittleEndian(UInt16(168))
        bytes += Array("sh".utf8) + [UInt8](repeating: 0, count: 14)
        bytes += Array("Oops".utf8) + [UInt8](repeating: 0, count: 60)
        for index in 0..<21 { bytes.appendLittleEndian(index == 16 ? rip : UInt64(index)) }
        let crc = CRC32.checksum(bytes[16...])
        for index in 0..<4 { bytes[12 + index] = UInt8(truncatingIfNeeded: crc >> (8 * index)) }
        if corrupt { bytes[200] ^= 0x01 }
        return bytes + [UInt8](repeating: 0, count: 4096 - bytes.count)
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func decodesEveryField() throws {
        let crumb = try Breadcrumb(bytes: Self.record())
        #expect(crumb.eventName == "DIE_OOPS")
        #expect(crumb.dieString == "Oops")
        #expect(crumb.command == "sh")
        #expect(crumb.pid == 139)
        #expect(crumb.signal == 11)
        #expect(crumb.errorCode == 2)
        #expect(crumb.taint == 0x3000)
        #expect(crumb.registers.count == 21)
        #expect(crumb.instructionPointer == 0xffff_ffff_c03a_3358)
        #expect(crumb.registers[PRStatus.RegisterName.rsp.rawValue] == 19)
    }

    @Test func rejectsAnEmptyPageAndACorruptRecord() {
        #expect(throws: Breadcrumb.Problem.absent) { try Breadcrumb(bytes: [UInt8](repeating: 0, count: 4096)) }
        #expect {
            try Breadcrumb(bytes: Self.record(corrupt: true))
        } throws: { error in
            guard case .checksumMismatch = error as? Breadcrumb.Problem else { return false }
            return true
        }
    }

    @Test func addressComesFromTheCaptureCommandLine() {
        #expect(Breadcrumb.address(inCommandLine: "console=ttyS0 oopsd.breadcrumb=0x2ff43000 panic=10") == 0x2ff4_3000)
        #expect(Breadcrumb.address(inCommandLine: "console=ttyS0 panic=10\n") == nil)
    }
}
