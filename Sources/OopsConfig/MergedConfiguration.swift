import SystemCalls

/// The configuration after reading every file: each key's value with the place it came from,
/// and every problem found on the way.
public struct MergedConfiguration: Sendable {
    /// One key's effective value.
    public struct Entry: Equatable, Sendable {
        public var key: ConfigKey
        public var value: ConfigValue
        /// Where the value was last set; nil when it is the default.
        public var origin: ConfigOrigin?
    }

    /// Effective values by key id (`Capture.DumpLevel`), one for every known key.
    public private(set) var entries: [String: Entry]
    /// Errors and warnings, in the order found.
    public private(set) var diagnostics: [ConfigDiagnostic]
    /// The files read, in the order they applied.
    public private(set) var files: [String]
    /// Named sections of a template (`[Upload.NAME]`) that were set, in the order first seen.
    public private(set) var namedSections: [String] = []
    /// `namedSections` as a set: looking each assignment's section up in the list made a file of many named
    /// sections quadratic (16,000 took 1 s).
    private var namedSectionSet: Set<String> = []

    /// True when no error was found (warnings are allowed).
    public var isValid: Bool { !diagnostics.contains { $0.severity == .error } }
    /// Only the errors.
    public var errors: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .error } }

    /// The defaults alone.
    public init() {
        entries = Self.defaultEntries
        diagnostics = []
        files = []
    }

    /// Every fixed key at its default, parsed once.
    static let defaultEntries: [String: Entry] = {
        var entries: [String: Entry] = [:]
        for key in ConfigKeys.all where !key.isTemplate {
            entries[key.id] = Entry(key: key, value: defaultValue(of: key), origin: nil)
        }
        return entries
    }()

    /// Largest configuration file read (systemd's own limit on a unit file is about 4 MiB; ours are a few KiB).
    public static let maximumFileSize = 1 << 20

    /// Reads and merges every configuration file under `root`.
    public static func load(root: HostRoot = .system) -> MergedConfiguration {
        var merged = MergedConfiguration()
        let sources = ConfigSources.files(root: root, diagnostics: &merged.diagnostics)
        for source in sources where !source.isMask {
            let real = root.path(source.path)
            let wholeFile = ConfigOrigin(file: source.path, line: 0)
            do {
                if let status = try FileSystem.status(real), status.kind == .directory {
                    merged.diagnostics.append(.init(.error, wholeFile, "is a directory; expected a configuration file"))
                    continue
                }
                // Only a regular file, wherever a drop-in's link leads: a FIFO would block arming for ever and
                // /dev/zero would never end.
                let bytes = try FileSystem.readRegularFile(real, limit: maximumFileSize + 1, followingLinks: true)
                guard bytes.count <= maximumFileSize else {
                    merged.diagnostics.append(
                        .init(
                            .error, wholeFile,
                            "is larger than \(maximumFileSize / 1024) KiB; not read (a configuration file is a few KiB)"
                        ))
                    continue
                }
                merged.apply(text: String(decoding: bytes, as: UTF8.self), file: source.path)
            } catch let error as SystemError {
                merged.diagnostics.append(
                    .init(.error, wholeFile, "cannot read: \(error.message) (\(error.errnoName))"))
            } catch let error as FileKindError {
                merged.diagnostics.append(
                    .init(
                        .error, wholeFile,
                        "cannot read: \(FileKindError(path: source.path, kind: error.kind))"))
            } catch {
                merged.diagnostics.append(.init(.error, wholeFile, "cannot read: \(error)"))
            }
        }
        return merged
    }

    /// Applies one file's text, read from `file`, on top of what is merged so far.
    public mutating func apply(text: String, file: String) {
        files.append(file)
        for assignment in IniParser.parse(text, file: file, diagnostics: &diagnostics) {
            guard let key = ConfigKeys.lookup(section: assignment.section, name: assignment.key) else {
                let message: String
                let known = ConfigKeys.keys(in: assignment.section)
                if known.isEmpty {
                    message = "unknown section [\(assignment.section)]; \(assignment.key)= ignored"
                } else if let near = known.first(where: { $0.name.lowercased() == assignment.key.lowercased() }) {
                    message =
                        "unknown key \(assignment.key)= in [\(assignment.section)], ignored; did you mean \(near.name)=?"
                } else {
                    message = "unknown key \(assignment.key)= in [\(assignment.section)], ignored"
                }
                diagnostics.append(.init(.warning, assignment.origin, message))
                continue
            }
            if ConfigKeys.template(of: key.section) != nil, namedSectionSet.insert(key.section).inserted {
                namedSections.append(key.section)
            }
            if assignment.value.isEmpty {
                // An empty assignment resets: lists to empty, other keys to their default.
                entries[key.id] = Entry(
                    key: key, value: key.kind == .list ? .list([]) : Self.defaultValue(of: key),
                    origin: assignment.origin)
                continue
            }
            switch ConfigValue.parse(assignment.value, as: key.kind) {
            case .success(let value):
                // A list grows in place: a new array per assignment made 32,000 `ExtraModules=` lines take 9 s.
                if case .list(let words) = value, entries[key.id]?.value.append(words: words) == true {
                    entries[key.id]?.origin = assignment.origin
                } else {
                    entries[key.id] = Entry(key: key, value: value, origin: assignment.origin)
                }
            case .failure(let error):
                diagnostics.append(
                    .init(
                        .error, assignment.origin,
                        "\(assignment.key)=\(assignment.value): \(error.expectation)"))
            }
        }
    }

    /// The effective value of `key`.
    public func value(_ key: ConfigKey) -> ConfigValue {
        entries[key.id]?.value ?? Self.defaultValue(of: key)
    }

    /// The effective entry of `key`.
    public func entry(_ key: ConfigKey) -> Entry {
        entries[key.id] ?? Entry(key: key, value: Self.defaultValue(of: key), origin: nil)
    }

    static func defaultValue(of key: ConfigKey) -> ConfigValue {
        if key.defaultText.isEmpty { return key.kind == .list ? .list([]) : .text("") }
        guard case .success(let value) = ConfigValue.parse(key.defaultText, as: key.kind) else {
            fatalError("default of \(key.id) does not parse: \(key.defaultText)")
        }
        return value
    }
}
