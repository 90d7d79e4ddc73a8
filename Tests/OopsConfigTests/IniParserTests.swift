import Testing

@testable import OopsConfig

@Suite struct IniParserTests {
    func parse(_ text: String) -> ([IniAssignment], [String]) {
        var diagnostics: [ConfigDiagnostic] = []
        let result = IniParser.parse(text, file: "/etc/oopsd/oopsd.conf", diagnostics: &diagnostics)
        return (result, diagnostics.map(\.description))
    }

    @Test func readsSectionsKeysAndLineNumbers() {
        let (assignments, problems) = parse(
            "# comment\n; also a comment\n\n[Capture]\nDumpLevel = 1 \nDirectory=/srv/crash\n")
        #expect(problems.isEmpty)
        #expect(
            assignments.map { "\($0.section).\($0.key)=\($0.value)@\($0.origin.line)" } == [
                "Capture.DumpLevel=1@5", "Capture.Directory=/srv/crash@6",
            ])
    }

    @Test func acceptsByteOrderMarkCRLFAndMissingFinalNewline() {
        let (assignments, problems) = parse("\u{FEFF}[Capture]\r\nDumpLevel=3\r\nFormat=elf")
        #expect(problems.isEmpty)
        #expect(assignments.map(\.value) == ["3", "elf"])
        #expect(assignments.map(\.origin.line) == [2, 3])
    }

    @Test func joinsContinuationLines() {
        let (assignments, problems) = parse("[Kernel]\nCommandLine=a \\\n  b \\\n# skipped\n  c\nExtraModules=x\n")
        #expect(problems.isEmpty)
        #expect(assignments.map(\.value) == ["a b c", "x"])
        #expect(assignments.map(\.origin.line) == [2, 6])
    }

    @Test func reportsLinesThatAreNotAssignments() {
        let (_, problems) = parse("[Capture]\nDumpLevel\n")
        #expect(problems == [#"/etc/oopsd/oopsd.conf:2: expected Key=Value, found "DumpLevel""#])
    }

    @Test func reportsKeysBeforeAnySection() {
        let (assignments, problems) = parse("DumpLevel=1\n[Capture]\n")
        #expect(assignments.isEmpty)
        #expect(
            problems == [
                "/etc/oopsd/oopsd.conf:1: DumpLevel= stands before any section header; expected e.g. [Capture] above it"
            ])
    }

    @Test func reportsBrokenSectionHeaders() {
        let (assignments, problems) = parse("[Capture\nDumpLevel=1\n[Two Words]\n")
        #expect(assignments.isEmpty)
        #expect(
            problems == [
                #"/etc/oopsd/oopsd.conf:1: expected a section header like [Capture], found "[Capture""#,
                "/etc/oopsd/oopsd.conf:2: DumpLevel= stands before any section header; expected e.g. [Capture] above it",
                #"/etc/oopsd/oopsd.conf:3: invalid section name "Two Words""#,
            ])
    }

    @Test func reportsEmptyAndInvalidKeyNames() {
        let (_, problems) = parse("[Capture]\n=1\nDump Level=2\n")
        #expect(
            problems == [
                #"/etc/oopsd/oopsd.conf:2: expected a key name before "=""#,
                #"/etc/oopsd/oopsd.conf:3: invalid key name "Dump Level""#,
            ])
    }

    @Test func keepsEqualsSignsInValues() {
        let (assignments, _) = parse("[Kernel]\nCommandLine=console=ttyS0 foo=\"a=b\"\n")
        #expect(assignments.first?.value == #"console=ttyS0 foo="a=b""#)
    }
}
