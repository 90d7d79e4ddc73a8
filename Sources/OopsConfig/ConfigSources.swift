import SystemCalls

/// Where configuration files live and in which order they apply, following systemd's
/// `*.conf.d` rules.
///
/// The main file is the first of `/etc/oopsd/oopsd.conf`, `/run/oopsd/oopsd.conf`,
/// `/usr/local/lib/oopsd/oopsd.conf` and `/usr/lib/oopsd/oopsd.conf` that exists (packages
/// ship defaults in `/usr/lib`, the administrator's `/etc` copy replaces them). Drop-ins are `oopsd.conf.d/*.conf` in
/// `/usr/lib/oopsd/`, `/usr/local/lib/oopsd/`, `/run/oopsd/` and `/etc/oopsd/`, from lowest to
/// highest priority: a drop-in in a higher directory masks a same-named one in a lower
/// directory, and all drop-ins apply after the main file in file-name order. A drop-in that is
/// empty or a symlink to `/dev/null` masks without setting anything.
public enum ConfigSources {
    /// Candidate main files, highest priority first.
    public static let mainFiles = [
        "/etc/oopsd/oopsd.conf",
        "/run/oopsd/oopsd.conf",
        "/usr/local/lib/oopsd/oopsd.conf",
        "/usr/lib/oopsd/oopsd.conf",
    ]
    /// Drop-in directories, lowest priority first.
    public static let dropInDirectories = [
        "/usr/lib/oopsd/oopsd.conf.d",
        "/usr/local/lib/oopsd/oopsd.conf.d",
        "/run/oopsd/oopsd.conf.d",
        "/etc/oopsd/oopsd.conf.d",
    ]

    /// Every directory whose changes may change the configuration (for the service's watches).
    public static var watchedDirectories: [String] { mainFiles.map(Path.parent) + dropInDirectories }

    /// A file that takes part, by its path as the user knows it (outside any test root).
    public struct File: Equatable, Sendable {
        public var path: String
        /// True when the file masks lower ones without content (a `/dev/null` symlink).
        public var isMask: Bool
    }

    /// The files that apply, in order: the main file (when it exists) then the winning drop-ins
    /// sorted by name. Problems with directories go to `diagnostics`.
    public static func files(root: HostRoot, diagnostics: inout [ConfigDiagnostic]) -> [File] {
        var result: [File] = []
        if let main = mainFiles.first(where: { FileSystem.exists(root.path($0)) }) {
            // A directory here is kept: the reader reports it.
            result.append(File(path: main, isMask: isDevNull(root.path(main))))
        }

        var winners: [String: String] = [:]  // file name -> directory that provides it
        for directory in dropInDirectories {
            let real = root.path(directory)
            let status: FileStatus?
            do {
                status = try FileSystem.status(real)
            } catch {
                diagnostics.append(.init(.error, ConfigOrigin(file: directory, line: 0), "cannot read: \(error)"))
                continue
            }
            guard let status else { continue }
            guard status.kind == .directory else {
                diagnostics.append(
                    .init(
                        .error, ConfigOrigin(file: directory, line: 0),
                        "is not a directory; expected a directory of *.conf drop-ins"))
                continue
            }
            let names: [String]
            do {
                names = try FileSystem.listDirectory(real)
            } catch {
                diagnostics.append(.init(.error, ConfigOrigin(file: directory, line: 0), "cannot list: \(error)"))
                continue
            }
            for name in names where name.hasSuffix(".conf") && !name.hasPrefix(".") {
                winners[name] = directory
            }
        }
        for name in winners.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let path = winners[name]! + "/" + name
            result.append(File(path: path, isMask: isDevNull(root.path(path))))
        }
        return result
    }

    private static func isDevNull(_ path: String) -> Bool {
        guard let status = try? FileSystem.status(path, followLinks: false), status.kind == .symlink else {
            return false
        }
        return (try? FileSystem.readLink(path)) == "/dev/null"
    }
}
