import DumpFormat

/// One way of saving the crashed kernel's memory. The saver tries the chain in order, each in its own child
/// process, until one completes: the level asked for, then the same without the `struct page` walk (zero pages
/// only), then a plain copy of every PT_LOAD. When all die, the dump keeps its log and metadata only, incomplete.
public struct MemoryAttempt: Equatable, Sendable {
    /// The level to apply (its `warning` says why it was lowered).
    public var level: DumpLevel
    /// The file format.
    public var format: MemoryFormat
    /// A copy of every byte of every PT_LOAD: no page walk, no zero-page check, ELF.
    public var isPlainCopy: Bool

    /// What this attempt saves, for warnings: `dump level 31`, `dump level 1 without the struct page walk (zero
    /// pages only)`, `a plain copy of every PT_LOAD (ELF, dump level 0)`.
    public var summary: String {
        if isPlainCopy { return "a plain copy of every PT_LOAD (ELF, dump level 0)" }
        if level.applied == level.requested { return "dump level \(level.requested)" }
        return "dump level \(level.applied) without the struct page walk"
            + (level.excludesZeroPages ? " (zero pages only)" : "")
    }

    /// The attempts for `level` in `format`, most filtered first, without repeating one.
    public static func chain(level: DumpLevel, format: MemoryFormat) -> [MemoryAttempt] {
        var attempts = [MemoryAttempt(level: level, format: format, isPlainCopy: false)]
        if level.needsPageWalk {
            let lowered = level.lowered(
                removing: DumpLevel.structPageBits, because: "the struct page walk did not complete")
            attempts.append(MemoryAttempt(level: lowered, format: format, isPlainCopy: false))
        }
        let plain = level.lowered(
            removing: DumpLevel.structPageBits | DumpLevel.zeroPagesBit,
            because: "every filtered way of saving the memory failed")
        attempts.append(MemoryAttempt(level: plain, format: .elf, isPlainCopy: true))
        return attempts
    }
}
