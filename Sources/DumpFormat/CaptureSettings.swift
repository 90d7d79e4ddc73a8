/// How a capture saves the dump and what it does afterwards: the `[Capture]` settings the capture plan freezes.
/// One value, held by the plan and by whatever asks for a capture image, so each setting is declared once.
public struct CaptureSettings: Equatable, Sendable {
    /// makedumpfile-style dump level, 0...31 (as requested; the capture may lower what it applies).
    public var dumpLevel: DumpLevel
    /// How the memory is written.
    public var format: MemoryFormat
    /// Page compression of the kdump format.
    public var compression: PageCompression
    /// Seconds after which a running capture is abandoned.
    public var timeoutSeconds: Int
    /// What to do after a successful capture.
    public var finalAction: FinalAction
    /// What to do after a failed or timed-out capture.
    public var failureAction: FinalAction

    public init(
        dumpLevel: DumpLevel = DumpLevel(31)!, format: MemoryFormat = .elf, compression: PageCompression = .zstd,
        timeoutSeconds: Int = 1800, finalAction: FinalAction = .reboot, failureAction: FinalAction = .reboot
    ) {
        self.dumpLevel = dumpLevel
        self.format = format
        self.compression = compression
        self.timeoutSeconds = timeoutSeconds
        self.finalAction = finalAction
        self.failureAction = failureAction
    }
}
