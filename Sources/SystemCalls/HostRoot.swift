#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The root every absolute host path is resolved under: `/` on a real machine, a test tree
/// in unit tests and the VM harness (`--root DIR` or `OOPSD_ROOT=DIR`).
///
/// Domain code never opens `/etc`, `/boot`, `/sys` or `/proc` directly; it asks the root.
public struct HostRoot: Equatable, Sendable, CustomStringConvertible {
    /// The directory standing for `/`, without a trailing slash (empty for the real root).
    public let prefix: String

    /// A root at `directory` (`/` or empty means the real root).
    public init(_ directory: String = "/") {
        var trimmed = directory
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        prefix = trimmed
    }

    /// The real root.
    public static let system = HostRoot("/")

    /// The name of the environment variable that sets the root.
    public static let environmentVariable = "OOPSD_ROOT"

    /// The root named by `flag` if given, else by `$OOPSD_ROOT`, else `/`.
    public static func resolve(flag: String?) -> HostRoot {
        if let flag, !flag.isEmpty { return HostRoot(flag) }
        // Sound because getenv's string is copied at once, before anything can change the environment.
        if let value = unsafe getenv(environmentVariable) {
            let text = unsafe String(cString: value)
            if !text.isEmpty { return HostRoot(text) }
        }
        return .system
    }

    /// `absolutePath` (e.g. `/etc/oopsd/oopsd.conf`) inside this root.
    public func path(_ absolutePath: String) -> String {
        prefix.isEmpty ? absolutePath : Path.join(prefix, absolutePath)
    }

    public var description: String { prefix.isEmpty ? "/" : prefix }
}
