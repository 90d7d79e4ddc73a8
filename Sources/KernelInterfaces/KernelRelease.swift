#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemCalls

/// The running kernel's release string (`uname -r`).
public enum KernelRelease {
    /// The release from uname(2), e.g. `6.1.0-56-amd64`.
    public static func current() throws -> String {
        var names = utsname()
        _ = try valueOrErrno("uname") { uname(&names) }
        return withUnsafeBytes(of: names.release) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// The default kernel image for a release: `/boot/vmlinuz-<release>`.
    public static func defaultImage(release: String) -> String { "/boot/vmlinuz-\(release)" }

    /// The kernel build configuration for a release: `/boot/config-<release>`.
    public static func configFile(release: String) -> String { "/boot/config-\(release)" }
}
