import SystemCalls

/// The effective capabilities of this process, from the `CapEff:` line of `/proc/self/status`.
public struct Capabilities: Equatable, Sendable {
    /// The effective capability bit mask.
    public var effective: UInt64

    public init(effective: UInt64) { self.effective = effective }

    /// Bit number of `CAP_SYS_BOOT` (needed by kexec_file_load and reboot).
    public static let sysBoot = 22
    /// Bit number of `CAP_SYS_MODULE` (needed by finit_module).
    public static let sysModule = 16

    /// Whether capability bit `number` is effective.
    public func has(_ number: Int) -> Bool { effective & (1 << UInt64(number)) != 0 }

    /// Reads `/proc/self/status` under `root`.
    public static func read(root: HostRoot) throws -> Capabilities {
        let path = root.path("/proc/self/status")
        let text = try FileSystem.readText(path)
        for line in text.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = KernelFile.trimmed(line.dropFirst("CapEff:".count))
            guard let value = UInt64(hex, radix: 16) else {
                throw KernelFileError(
                    path: path, expected: "CapEff: followed by a hexadecimal mask", found: String(line))
            }
            return Capabilities(effective: value)
        }
        throw KernelFileError(path: path, expected: "a CapEff: line", found: "none")
    }
}
