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
    /// Threads for the page walk and the compression (0: the saver's setting, by default one per CPU).
    public var threads = 0

    /// What this attempt saves, for warnings: `dump level 31`, `dump level 1 without the struct page walk (zero
    /// pages only)`, `a plain copy of every PT_LOAD (ELF, dump level 0)`.
    public var summary: String {
        if isPlainCopy { return "a plain copy of every PT_LOAD (ELF, dump level 0)" }
        let thread = threads == 1 ? " on one thread" : ""
        if level.applied == level.requested { return "dump level \(level.requested)\(thread)" }
        return "dump level \(level.applied) without the struct page walk"
            + (level.excludesZeroPages ? " (zero pages only)" : "") + thread
    }

    /// The attempt to make after this one made no progress on `threads` threads: the same on one thread (threads
    /// waiting for each other, or for each other's CPU, are then out of the picture), or nil when it ran on one.
    public func onOneThread(after threads: Int) -> MemoryAttempt? {
        guard !isPlainCopy, self.threads != 1, threads > 1 else { return nil }
        var attempt = self
        attempt.threads = 1
        return attempt
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
