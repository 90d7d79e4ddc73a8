import Capture
import DumpFormat
import SystemCalls
import VMCore

/// Taking a dump's memory out of the dump directory (`oopsctl dump ID -o FILE`): copied as it is, or re-filtered
/// and written anew in another format through the capture's own saver. Files are created `0600` (a vmcore holds
/// every secret the machine had) and appear under their name only once complete.
public enum DumpExport {
    /// Copies `entry`'s memory file (`vmcore`, else the `vmcore.kdump` of `Format=kdump`) to `output`, keeping it
    /// sparse (runs of zero bytes become holes); an existing `output` is replaced only when `replacing`.
    /// Returns the bytes copied.
    public static func copyMemory(of entry: DumpEntry, to output: String, replacing: Bool) throws -> UInt64 {
        let source = entry.memoryFile ?? entry.file(DumpLayout.vmcore)
        if FileSystem.exists(output) && !replacing { throw CollectionError.outputExists(path: output) }
        let input: FileDescriptor
        do {
            input = try FileDescriptor.open(source, [.readOnly, .noFollow])
        } catch {
            throw CollectionError.cannotRead(path: source, cause: FileReadError(caught: error))
        }
        defer { try? input.close() }
        // Written under a temporary name and renamed, so FILE is never a partial copy. The name is new (O_EXCL):
        // a file already there is not ours to truncate or remove.
        let temporary = output + ".oopsctl-partial"
        let out: FileDescriptor
        do {
            out = try FileDescriptor.open(temporary, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o600)
        } catch let error as SystemError where error.errno == .fileExists {
            throw CollectionError.fileUnreadable(
                path: temporary, reason: "exists (left by another export?); remove it, then export again")
        }
        var total: UInt64 = 0
        do {
            let chunk = 1 << 20
            while true {
                let bytes = try input.readBytes(count: chunk, atOffset: total)
                if bytes.isEmpty { break }
                if bytes.contains(where: { $0 != 0 }) {
                    try out.writeAll(bytes, atOffset: total)
                }
                total += UInt64(bytes.count)
            }
            try out.truncate(to: total)
            try out.sync()
            try out.close()
            try FileSystem.rename(temporary, to: output)
        } catch {
            try? out.close()
            try? FileSystem.remove(temporary)
            throw CollectionError.fileUnreadable(path: output, reason: "export failed: \(error)")
        }
        return total
    }

    /// Re-filters `entry`'s ELF vmcore at `level` and writes it to `output` in `format` (kdump pages compressed
    /// with `compression`) through `DumpSaver`, in a scratch directory next to `output` that only this run
    /// creates and removes. An existing `output` is replaced only when `replacing`; `log` receives the saver's
    /// lines. An ELF output is laid out as `elfLayout` says. Returns the size of `output`.
    public static func convert(
        _ entry: DumpEntry, to output: String, replacing: Bool, level: DumpLevel, format: MemoryFormat,
        compression: PageCompression, elfLayout: ELFCoreWriter.Layout = .packed, log: @escaping (String) -> Void
    ) throws -> UInt64 {
        let source = entry.file(DumpLayout.vmcore)
        guard FileSystem.exists(source) else {
            throw CollectionError.fileUnreadable(
                path: source, reason: "no ELF vmcore to convert (a kdump-compressed dump cannot be converted back)")
        }
        if FileSystem.exists(output) && !replacing { throw CollectionError.outputExists(path: output) }
        // A scratch directory this run creates (mkdtemp: a new name, 0700) and alone removes: nothing that
        // was there before, whatever its name, is deleted.
        let scratch = try makeScratchDirectory(next: output)
        defer { try? FileSystem.removeTree(scratch) }
        let options = DumpSaver.Options(
            vmcorePath: source, outputDirectory: Path.join(scratch, "dump"), dumpLevel: level, format: format,
            compression: compression, elfLayout: elfLayout)
        let outcome = DumpSaver(options: options, log: log).run()
        guard outcome.isComplete, let directory = outcome.directory else {
            throw CollectionError.fileUnreadable(
                path: output, reason: "conversion failed: \(outcome.metadata.incompleteReason ?? "unknown reason")")
        }
        let converted = Path.join(directory, format.fileName)
        try FileSystem.rename(converted, to: output)
        return (try FileSystem.status(output))?.size ?? 0
    }

    /// Creates `<output>.oopsctl-convert-XXXXXX` (mkdtemp) for a conversion.
    static func makeScratchDirectory(next output: String) throws -> String {
        do { return try FileSystem.makeUniqueDirectory(prefix: output + ".oopsctl-convert-") } catch {
            throw CollectionError.fileUnreadable(
                path: output, reason: "cannot create a scratch directory next to it: \(error)")
        }
    }
}
