/// The kernel's taint flags (`kernel/panic.c` `taint_flags[]`, `Documentation/admin-guide/tainted-kernels.rst`).
public enum TaintFlags {
    /// One taint flag.
    public struct Flag: Equatable, Sendable, Codable {
        /// Bit number in the taint mask.
        public var bit: Int
        /// The letter the kernel prints when the flag is set.
        public var letter: String
        /// The kernel's name (`TAINT_DIE` without the prefix).
        public var name: String
        /// What it means, for people.
        public var meaning: String
    }

    /// Every flag in bit order (`P` and `G` share bit 0: `G` is printed when it is clear and modules are loaded).
    public static let all: [Flag] = [
        Flag(bit: 0, letter: "P", name: "PROPRIETARY_MODULE", meaning: "a proprietary (non-GPL) module was loaded"),
        Flag(bit: 1, letter: "F", name: "FORCED_MODULE", meaning: "a module was force-loaded"),
        Flag(
            bit: 2, letter: "S", name: "CPU_OUT_OF_SPEC",
            meaning: "the CPU runs out of specification (SMP on unsupported CPUs, or out-of-spec system)"),
        Flag(bit: 3, letter: "R", name: "FORCED_RMMOD", meaning: "a module was force-unloaded"),
        Flag(
            bit: 4, letter: "M", name: "MACHINE_CHECK", meaning: "a machine check exception occurred (hardware error)"),
        Flag(
            bit: 5, letter: "B", name: "BAD_PAGE",
            meaning: "a bad page was found (memory corruption, or a hardware problem)"),
        Flag(bit: 6, letter: "U", name: "USER", meaning: "tainted on request of user space"),
        Flag(bit: 7, letter: "D", name: "DIE", meaning: "the kernel died recently (an earlier oops or BUG)"),
        Flag(bit: 8, letter: "A", name: "OVERRIDDEN_ACPI_TABLE", meaning: "an ACPI table was overridden by the user"),
        Flag(bit: 9, letter: "W", name: "WARN", meaning: "the kernel issued a warning"),
        Flag(bit: 10, letter: "C", name: "CRAP", meaning: "a staging driver was loaded"),
        Flag(
            bit: 11, letter: "I", name: "FIRMWARE_WORKAROUND",
            meaning: "a workaround for a platform firmware bug is active"),
        Flag(bit: 12, letter: "O", name: "OOT_MODULE", meaning: "an out-of-tree module was loaded"),
        Flag(bit: 13, letter: "E", name: "UNSIGNED_MODULE", meaning: "an unsigned module was loaded"),
        Flag(bit: 14, letter: "L", name: "SOFTLOCKUP", meaning: "a soft lockup occurred"),
        Flag(bit: 15, letter: "K", name: "LIVEPATCH", meaning: "the kernel was live-patched"),
        Flag(bit: 16, letter: "X", name: "AUX", meaning: "an auxiliary taint, defined by distributions"),
        Flag(
            bit: 17, letter: "T", name: "RANDSTRUCT",
            meaning: "the kernel was built with the struct randomization plugin"),
        Flag(bit: 18, letter: "N", name: "TEST", meaning: "an in-kernel test (such as a KUnit test) ran"),
        Flag(
            bit: 19, letter: "J", name: "FWCTL", meaning: "user space used fwctl to change the device firmware's state"),
    ]

    /// The flags `letters` (as printed after `Tainted:`) stand for; `G` (only GPL modules) sets none.
    /// Unknown letters come back with name `UNKNOWN`.
    public static func decode(letters: String) -> [Flag] {
        letters.compactMap { letter -> Flag? in
            if letter == "G" { return nil }
            return all.first { $0.letter == String(letter) }
                ?? Flag(
                    bit: -1, letter: String(letter), name: "UNKNOWN", meaning: "not a taint letter this oopsd knows")
        }
    }

    /// The flags set in a taint mask (bit n = flag n), e.g. from the breadcrumb.
    public static func decode(mask: UInt64) -> [Flag] {
        all.filter { mask & (UInt64(1) << UInt64($0.bit)) != 0 }
    }
}
