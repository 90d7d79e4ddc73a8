import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The running kernel's release string (`uname -r`).
public enum KernelRelease {
    /// The release from uname(2), e.g. `6.1.0-56-amd64`.
    public static func current() throws -> String {
        var names = utsname()
        // Sound because uname fills the local `names`; the release is read within its fixed-size field.
        _ = try valueOrErrno("uname") { unsafe uname(&names) }
        return unsafe withUnsafeBytes(of: names.release) { raw in
            unsafe String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// Where Debian installs a release's kernel image, in the order arming looks: `/boot/vmlinuz-<release>`
    /// (the linux-image package up to 6.x), then `/usr/lib/modules/<release>/vmlinuz` (7.x's linux-binary
    /// package; such a server may have nothing in /boot).
    public static func imageCandidates(release: String) -> [String] {
        ["/boot/vmlinuz-\(release)", "/usr/lib/modules/\(release)/vmlinuz"]
    }

    /// The kernel image of `release` under `root`: the first of `imageCandidates` that exists, or nil.
    public static func installedImage(release: String, root: HostRoot) -> String? {
        imageCandidates(release: release).first { FileSystem.exists(root.path($0)) }
    }

    /// The default kernel image for a release under `root`: the installed one, else `/boot/vmlinuz-<release>`
    /// (so a message about the missing file names the first place looked).
    public static func defaultImage(release: String, root: HostRoot) -> String {
        installedImage(release: release, root: root) ?? imageCandidates(release: release)[0]
    }

    /// The release a kernel image's path names: `…/vmlinuz-<release>`, or `…/modules/<release>/vmlinuz`; nil for
    /// any other name.
    public static func release(ofImage path: String) -> String? {
        let name = Path.lastComponent(path)
        if name.hasPrefix("vmlinuz-"), name.count > "vmlinuz-".count { return String(name.dropFirst("vmlinuz-".count)) }
        guard name == "vmlinuz" else { return nil }
        let directory = Path.parent(path)
        guard Path.lastComponent(Path.parent(directory)) == "modules" else { return nil }
        let release = Path.lastComponent(directory)
        return release.isEmpty || release == "/" ? nil : release
    }

    /// The kernel build configuration for a release under `root`: `/boot/config-<release>`, else
    /// `/usr/lib/modules/<release>/config` (7.x's linux-base package) when only that exists.
    public static func configFile(release: String, root: HostRoot) -> String {
        let candidates = ["/boot/config-\(release)", "/usr/lib/modules/\(release)/config"]
        return candidates.first { FileSystem.exists(root.path($0)) } ?? candidates[0]
    }
}
