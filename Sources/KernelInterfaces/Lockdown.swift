import SystemCalls

/// The kernel lockdown mode (`/sys/kernel/security/lockdown`): under `integrity` or `confidentiality` only
/// signed kernels can be loaded with kexec_file_load.
public enum LockdownMode: String, Equatable, Sendable {
    case none, integrity, confidentiality

    /// Parses the file's text, e.g. `none [integrity] confidentiality`: the mode in brackets is current.
    public init(parsing text: String, path: String = "/sys/kernel/security/lockdown") throws {
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        where word.hasPrefix("[") && word.hasSuffix("]") {
            if let mode = LockdownMode(rawValue: String(word.dropFirst().dropLast())) {
                self = mode
                return
            }
        }
        throw KernelFileError(
            path: path, expected: "a list of modes with the current one in brackets, e.g. \"[none] integrity\"",
            found: KernelFile.trimmed(text))
    }

    /// The current mode under `root`; `.none` when securityfs or the lockdown LSM is absent.
    public static func read(root: HostRoot) throws -> LockdownMode {
        let file = "/sys/kernel/security/lockdown"
        guard let text = try KernelFile.text(file, root: root) else { return .none }
        return try LockdownMode(parsing: text, path: root.path(file))
    }
}
