/// The layout of a dump directory, `<Directory>/<UTC time>-<boot id prefix>/`: the names of the files in it and
/// the suffix of a dump that is not (yet) complete. The capture, collection, upload and the CLI all name files
/// through this one table.
public enum DumpLayout {
    /// The kernel log as text, written first by the capture.
    public static let dmesg = "dmesg.txt"
    /// The memory as an ELF core (`Format=elf`).
    public static let vmcore = "vmcore"
    /// The memory kdump-compressed (`Format=kdump`; crash and drgn read it).
    public static let kdump = "vmcore.kdump"
    /// The memory kdump-compressed, sent by the capture kernel to `[Capture] Target=` in makedumpfile's flattened
    /// format (drgn reads it as it is; `makedumpfile -R vmcore.kdump < vmcore.kdump.flat` makes the plain file).
    public static let flattenedKdump = "vmcore.kdump.flat"
    /// What the capture recorded about the dump (`DumpMetadata`).
    public static let metadata = "metadata.json"
    /// The capture kernel's own log of the run.
    public static let captureLog = "capture.log"
    /// The collection's report, as JSON and as text.
    public static let reportJSON = "report.json"
    public static let reportText = "report.txt"
    /// Per upload target, whether the dump is shipped (`UploadState`).
    public static let uploadState = "upload-state.json"
    /// Only in the local record of a dump the capture kernel sent to `[Capture] Target=`: the manifest stored beside
    /// it there (its memory stays there); no dump saved on this machine has one.
    public static let networkManifest = "manifest.json"

    /// The suffix of a dump directory that is not (yet) complete: the capture writes under
    /// `<final>.incomplete` and renames only once every file is written and synced.
    public static let incompleteSuffix = ".incomplete"

    /// The files that may hold a dump's memory, in the order they are looked for.
    public static let memoryFiles = [vmcore, kdump]
}
