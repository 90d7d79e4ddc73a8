/// How the capture kernel returns to production without the firmware (`FinalAction=kexec` or
/// `FailureAction=kexec`), as frozen into the capture plan at arm time: the files to load, read from the dump
/// target's file system once it is mounted, with the SHA-256 they had when oopsd armed (a `/boot` changed since
/// then is refused, and the machine reboots through the firmware), and the production command line.
public enum ReturnKernelPlan: Equatable, Sendable {
    /// oopsd could not prepare the return at arm time; the reason is logged then and again by the capture.
    case unavailable(reason: String)
    /// The files and command line of the return.
    case available(ReturnKernelFiles)
}

/// The production kernel and initramfs as the capture kernel finds them.
public struct ReturnKernelFiles: Equatable, Sendable {
    /// The kernel image, as a path inside the file system with `fileSystemUUID` (its root is `/`).
    public var kernel: String
    /// SHA-256 of the kernel image, 64 lower-case hexadecimal digits.
    public var kernelSHA256: String
    /// The initramfs, as a path inside the same file system.
    public var initramfs: String
    /// SHA-256 of the initramfs.
    public var initramfsSHA256: String
    /// The file system holding both (today always the dump target's).
    public var fileSystemUUID: String
    /// The production kernel's command line (`/proc/cmdline` at arm time).
    public var commandLine: String

    public init(
        kernel: String, kernelSHA256: String, initramfs: String, initramfsSHA256: String, fileSystemUUID: String,
        commandLine: String
    ) {
        self.kernel = kernel
        self.kernelSHA256 = kernelSHA256
        self.initramfs = initramfs
        self.initramfsSHA256 = initramfsSHA256
        self.fileSystemUUID = fileSystemUUID
        self.commandLine = commandLine
    }

    /// The parameter the capture appends to `commandLine`: it tells oopsd that this boot is a return from a
    /// capture, and which dump directory it made.
    public static let afterCrashParameter = "oopsd.after-crash"

    /// The command line of the return: the production one, any earlier marker removed, with the marker naming
    /// `dumpName` (or `none` when no dump directory was made).
    public func returnCommandLine(dumpName: String?) -> String {
        let kept = commandLine.split(separator: " ").filter { !$0.hasPrefix(Self.afterCrashParameter + "=") }
        return (kept.map(String.init) + ["\(Self.afterCrashParameter)=\(dumpName ?? "none")"]).joined(separator: " ")
    }

    /// The value of the marker in a command line, or nil when it has none.
    public static func afterCrash(inCommandLine commandLine: String) -> String? {
        for word in commandLine.split(whereSeparator: { $0 == " " || $0 == "\n" })
        where word.hasPrefix(afterCrashParameter + "=") {
            return String(word.dropFirst(afterCrashParameter.count + 1))
        }
        return nil
    }
}
