import DumpFormat
import Testing
import VMCore

@Suite struct VMCoreInfoTests {
    @Test func parsesTypedEntriesIncludingALastLineWithoutNewline() {
        let info = VMCoreInfo(
            Array(
                """
                OSRELEASE=6.12.22-amd64
                BUILD-ID=9f3c0e
                PAGESIZE=4096
                SYMBOL(init_uts_ns)=ffffffff9a419360
                SIZE(page)=64
                OFFSET(page.flags)=0
                LENGTH(mem_section)=2048
                NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129
                KERNELOFFSET=18a00000
                CRASHTIME=1747735000
                """.utf8) + [0, 0, 0])
        #expect(info.osRelease == "6.12.22-amd64")
        #expect(info.buildID == "9f3c0e")
        #expect(info.pageSize == 4096)
        #expect(info.symbol("init_uts_ns") == 0xffff_ffff_9a41_9360)
        #expect(info.size("page") == 64)
        #expect(info.offset("page.flags") == 0)
        #expect(info.length("mem_section") == 2048)
        #expect(info.number("PAGE_BUDDY_MAPCOUNT_VALUE") == -129)
        #expect(info.kernelOffset == 0x18a0_0000)
        #expect(info.crashTime == 1_747_735_000)
        #expect(info.symbol("missing") == nil)
    }

    @Test func reportsUnreadableValues() {
        let info = VMCoreInfo(Array("SIZE(prb_desc)=twenty\n".utf8))
        #expect(throws: VMCoreInfoError(key: "SIZE(prb_desc)", value: "twenty", purpose: "p")) {
            try info.requireSize("prb_desc", for: "p")
        }
    }

    @Test func dumpLevelsAreAppliedAsAskedUntilLowered() {
        #expect(DumpLevel(0)?.applied == 0)
        #expect(DumpLevel(31)?.applied == 31)
        #expect(DumpLevel(31)?.warning == nil)
        #expect(DumpLevel(31)?.needsPageWalk == true)
        #expect(DumpLevel(1)?.needsPageWalk == false)
        let lowered = DumpLevel(31)!.lowered(removing: DumpLevel.structPageBits, because: "no struct page")
        #expect(lowered.applied == 1)
        #expect(lowered.warning == "dump level 31 lowered to 1: no struct page")
        #expect(DumpLevel(32) == nil)
        #expect(DumpLevel(-1) == nil)
    }
}
