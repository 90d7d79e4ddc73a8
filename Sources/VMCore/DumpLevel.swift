/// A makedumpfile-style dump level: which kinds of pages to leave out, and what this version applies.
///
/// Bits: 1 zero pages, 2 page cache without private data, 4 all page cache, 8 user pages, 16 free pages.
/// Only bit 1 is implemented; any other bit makes the level applied as 1, with a warning.
public struct DumpLevel: Equatable, Sendable {
    /// The level asked for (0...31).
    public let requested: Int
    /// The level actually applied (0 or 1).
    public let applied: Int

    /// The bit for zero pages.
    public static let zeroPagesBit = 1

    /// A level from 0 through 31; nil otherwise.
    public init?(_ requested: Int) {
        guard (0...31).contains(requested) else { return nil }
        self.requested = requested
        applied = requested == 0 ? 0 : DumpLevel.zeroPagesBit
    }

    /// Whether zero pages become holes.
    public var excludesZeroPages: Bool { applied & DumpLevel.zeroPagesBit != 0 }

    /// Why the applied level differs from the requested one, or nil when it does not.
    public var warning: String? {
        guard requested != applied else { return nil }
        return "dump level \(requested) asks for page filtering (cache, user or free pages) that this version does not "
            + "implement; saving with dump level 1 (zero pages left out) instead"
    }
}
