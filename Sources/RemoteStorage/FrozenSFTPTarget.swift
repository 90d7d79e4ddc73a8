import DumpFormat

/// An SFTP target as frozen at arm time for the capture kernel: the `[Upload.NAME]` section `[Capture] Target=`
/// names, its pinned host key, and the machine ID that names the dump's place. The login key is copied beside it
/// into the initramfs (`keyPathInInitramfs`, and its public half; `key_file=` names it), both root-only like this
/// file, never on the kernel command line. Writer and parser live here, in one place; the format is `FrozenLines`.
package struct FrozenSFTPTarget: Equatable {
    /// Where the private key sits in the capture initramfs (its public half: `.pub` appended).
    package static let keyPathInInitramfs = "/etc/oopsd/capture-target-key"

    package enum Key: String, CaseIterable {
        case name, url, user, host, port, path
        case keyFile = "key_file"
        case hostKey = "host_key_sha256"
        case machineID = "machine_id"
    }

    /// NAME of `[Upload.NAME]`, for messages.
    package var name: String
    /// `URL=` as configured, for messages.
    package var url: String
    /// Where the files go; its `keyFile` is `keyPathInInitramfs` in a capture initramfs.
    package var location: SFTPLocation
    package var machineID: String

    package init(name: String, url: String, location: SFTPLocation, machineID: String) {
        (self.name, self.url, self.location, self.machineID) = (name, url, location, machineID)
    }

    /// The client for this target.
    package var client: SFTPClient { SFTPClient(target: name, location: location) }

    /// The path of `file` of dump `dumpID` below the target's directory: `<machine-id>/<dump-id>/<file>`, as the
    /// service's uploads place it.
    package func relativePath(dumpID: String, file: String) -> String { machineID + "/" + dumpID + "/" + file }

    /// The file's text; throws when a value holds a line break (it could not be read back).
    package func text() throws(UploadError) -> String {
        let values: [(Key, String)] = [
            (.name, name), (.url, url), (.user, location.user), (.host, location.host), (.port, "\(location.port)"),
            (.path, location.path), (.keyFile, location.keyFile), (.hostKey, location.hostKeySHA256),
            (.machineID, machineID),
        ]
        return try FrozenLines.text(values.map { ($0.0.rawValue, $0.1) }, target: name)
    }

    /// Parses the file's text; every key must appear exactly once; errors name the line.
    package init(parsing text: String, path: String = CaptureNetwork.targetPathInInitramfs) throws(UploadError) {
        let values = try FrozenLines.parse(text, keys: Key.allCases.map(\.rawValue), path: path)
        func value(_ key: Key) -> String { values[key.rawValue] ?? "" }
        guard let port = Int(value(.port)), (1...65535).contains(port) else {
            throw .configuration(target: path, message: "port: expected 1 to 65535, found \"\(value(.port))\"")
        }
        guard !value(.hostKey).isEmpty else {
            throw .configuration(target: path, message: "host_key_sha256: the server's key must be pinned")
        }
        self.init(
            name: value(.name), url: value(.url),
            location: SFTPLocation(
                user: value(.user), host: value(.host), port: port, path: value(.path),
                keyFile: value(.keyFile), hostKeySHA256: value(.hostKey)),
            machineID: value(.machineID))
    }
}

/// The target frozen into a capture initramfs: S3 or SFTP, told apart by the scheme of its `url=` line.
package enum FrozenCaptureTarget: Equatable {
    case s3(FrozenS3Target)
    case sftp(FrozenSFTPTarget)

    /// Parses the file's text (`FrozenS3Target` or `FrozenSFTPTarget`).
    package init(parsing text: String, path: String = CaptureNetwork.targetPathInInitramfs) throws(UploadError) {
        let url = text.split(separator: "\n").first { $0.hasPrefix("url=") }?.dropFirst(4) ?? ""
        if url.hasPrefix("sftp://") {
            self = .sftp(try FrozenSFTPTarget(parsing: text, path: path))
        } else {
            self = .s3(try FrozenS3Target(parsing: text, path: path))
        }
    }

    /// The machine ID that names the dump's place.
    package var machineID: String {
        switch self {
        case .s3(let target): target.machineID
        case .sftp(let target): target.machineID
        }
    }
}
