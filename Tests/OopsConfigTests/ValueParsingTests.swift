import Testing

@testable import OopsConfig

@Suite struct ValueParsingTests {
    static let sizeCases: [(String, UInt64)] = [
        ("4096", 4096), ("512K", 524_288), ("96M", 100_663_296), ("2G", 2_147_483_648), ("1T", 1_099_511_627_776),
        ("64MiB", 67_108_864), ("10 M", 10_485_760), ("7B", 7), ("3g", 3_221_225_472),
    ]

    @Test(arguments: sizeCases)
    func sizes(text: String, bytes: UInt64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["", "M", "-1M", "1.5G", "12Q", "99999999999999999999", "16777216T", "1 2M"])
    func invalidSizes(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test func percentages() {
        #expect(ByteSize.parseSizeOrPercent("10%") == .perMille(100))
        #expect(ByteSize.parseSizeOrPercent("12.5%") == .perMille(125))
        #expect(ByteSize.parseSizeOrPercent("100%") == .perMille(1000))
        #expect(ByteSize.parseSizeOrPercent("101%") == nil)
        #expect(ByteSize.parseSizeOrPercent("1.25%") == nil)
        #expect(ByteSize.parseSizeOrPercent("%") == nil)
        #expect(SizeOrPercent.perMille(125).resolve(total: 8000) == 1000)
        #expect(SizeOrPercent.bytes(5).resolve(total: 8000) == 5)
    }

    static let spanCases: [(String, UInt64)] = [
        ("90", 90_000_000), ("90s", 90_000_000), ("15min", 900_000_000), ("1h 30min", 5_400_000_000),
        ("250ms", 250_000), ("2d", 172_800_000_000), ("1w", 604_800_000_000), ("5 sec", 5_000_000), ("10us", 10),
    ]

    @Test(arguments: spanCases)
    func timeSpans(text: String, micros: UInt64) {
        #expect(TimeSpan.parse(text)?.microseconds == micros)
    }

    @Test(arguments: ["", "s", "10 parsecs", "1.5h", "-3s", "min5"])
    func invalidTimeSpans(text: String) {
        #expect(TimeSpan.parse(text) == nil)
    }

    @Test func timeSpansPrintShortest() {
        #expect(TimeSpan.parse("5400s")?.description == "1h 30min")
        #expect(TimeSpan.parse("15min")?.description == "15min")
        #expect(TimeSpan(microseconds: 1500).description == "1ms 500us")
    }

    @Test func booleans() {
        for word in ["yes", "TRUE", "on", "1"] {
            #expect(ConfigValue.parse(word, as: .boolean) == .success(.boolean(true)))
        }
        for word in ["no", "False", "off", "0"] {
            #expect(ConfigValue.parse(word, as: .boolean) == .success(.boolean(false)))
        }
        #expect(
            ConfigValue.parse("maybe", as: .boolean)
                == .failure(ConfigValueError("expected yes or no (also true/false, on/off, 1/0)")))
    }

    @Test func integersChoicesAndPaths() {
        #expect(ConfigValue.parse("31", as: .integer(0...31)) == .success(.integer(31)))
        #expect(ConfigValue.parse("32", as: .integer(0...31)) == .failure(ConfigValueError("expected 0..31")))
        #expect(ConfigValue.parse("+3", as: .integer(0...31)) == .failure(ConfigValueError("expected 0..31")))
        #expect(ConfigValue.parse("KDUMP", as: .choice(["elf", "kdump"])) == .success(.text("kdump")))
        #expect(
            ConfigValue.parse("tar", as: .choice(["elf", "kdump"]))
                == .failure(ConfigValueError("expected one of elf, kdump")))
        #expect(ConfigValue.parse("/var/crash", as: .path) == .success(.text("/var/crash")))
        #expect(ConfigValue.parse("var/crash", as: .path) == .failure(ConfigValueError("expected an absolute path")))
        #expect(ConfigValue.parse("/var/../etc", as: .path) == .failure(ConfigValueError("expected an absolute path")))
        #expect(ConfigValue.parse("a  b\tc", as: .list) == .success(.list(["a", "b", "c"])))
    }

    @Test func everyDefaultParses() {
        let defaults = OopsConfiguration(MergedConfiguration())
        #expect(defaults.capture.directory == "/var/crash")
        #expect(defaults.capture.dumpLevel == 31)
        #expect(defaults.capture.format == .elf)
        #expect(defaults.capture.timeout == TimeSpan(seconds: 1800))
        #expect(defaults.kernel.image == "")
        #expect(defaults.kernel.panicTimeout == TimeSpan(seconds: 10))
        #expect(defaults.retention.maxUse == .perMille(250))
        #expect(defaults.retention.keepFree == .perMille(100))
    }
}
