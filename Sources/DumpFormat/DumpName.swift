import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one place that names dump directories: `<UTC time>-<boot id prefix>`, e.g.
/// `20261126T023512Z-1a2b3c4d`. Names sort by time; the boot id of the capture kernel keeps two
/// captures in the same second apart.
public enum DumpName {
    /// The name for a crash at `epochSeconds`, captured by the boot with `bootID`.
    public static func make(epochSeconds: Int64, bootID: String) -> String {
        var time = time_t(epochSeconds)
        // Sound because gmtime_r fills the local `tm`; only its integer fields are read, never `tm_zone`.
        var parts = unsafe tm()
        _ = unsafe gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let stamp =
            unsafe pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "Z"
        let prefix = String(bootID.filter { $0.isHexDigit }.prefix(8)).lowercased()
        return "\(stamp)-\(prefix.isEmpty ? "00000000" : prefix)"
    }

    /// This boot's id (`/proc/sys/kernel/random/boot_id`), empty when unreadable.
    public static func currentBootID(procRoot: String = "/proc") -> String {
        (try? FileSystem.readText(procRoot + "/sys/kernel/random/boot_id")) ?? ""
    }
}
