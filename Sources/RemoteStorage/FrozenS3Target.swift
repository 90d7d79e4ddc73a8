import DumpFormat

/// An S3 target as frozen at arm time for the capture kernel: the `[Upload.NAME]` section `[Capture] Target=` names,
/// its credentials read and inlined (the capture kernel has no `$CREDENTIALS_DIRECTORY` and no root file system), and
/// the machine ID that names the dump's place. Written into the capture initramfs as a root-only file (mode 600),
/// never on the kernel command line. Writer and parser live here, in one place.
///
/// The format is `key=value` lines in a fixed order; everything after the first `=` is the value, verbatim.
package struct FrozenS3Target: Equatable {
    /// Where the file sits inside the capture initramfs.
    package static let pathInInitramfs = CaptureNetwork.targetPathInInitramfs

    package enum Key: String, CaseIterable {
        case name, url, endpoint, region, bucket, prefix, addressing
        case accessKey = "access_key"
        case secretKey = "secret_key"
        case partSize = "part_size"
        case machineID = "machine_id"
    }

    /// NAME of `[Upload.NAME]`, for messages.
    package var name: String
    /// `URL=` as configured, for messages.
    package var url: String
    package var location: S3Location
    package var credentials: S3Credentials
    package var partSize: Int
    package var machineID: String

    package init(
        name: String, url: String, location: S3Location, credentials: S3Credentials, partSize: Int, machineID: String
    ) {
        self.name = name
        self.url = url
        self.location = location
        self.credentials = credentials
        self.partSize = partSize
        self.machineID = machineID
    }

    /// The client for this target.
    package var client: S3Client { S3Client(target: name, location: location, credentials: credentials) }

    /// The key of `file` of dump `dumpID`: `PREFIX/<machine-id>/<dump-id>/<file>`, as the service's uploads use.
    package func key(dumpID: String, file: String) -> String {
        (location.prefix.isEmpty ? "" : location.prefix + "/") + machineID + "/" + dumpID + "/" + file
    }

    /// The file's text; throws when a value holds a line break (it could not be read back).
    package func text() throws(UploadError) -> String {
        let values: [(Key, String)] = [
            (.name, name), (.url, url), (.endpoint, location.endpoint), (.region, location.region),
            (.bucket, location.bucket), (.prefix, location.prefix),
            (.addressing, location.virtualHost ? "virtual" : "path"), (.accessKey, credentials.accessKey),
            (.secretKey, credentials.secretKey), (.partSize, "\(partSize)"), (.machineID, machineID),
        ]
        return try FrozenLines.text(values.map { ($0.0.rawValue, $0.1) }, target: name)
    }

    /// Parses the file's text; every key must appear exactly once; errors name the line.
    package init(parsing text: String, path: String = pathInInitramfs) throws(UploadError) {
        let values = try FrozenLines.parse(text, keys: Key.allCases.map(\.rawValue), path: path)
        func value(_ key: Key) -> String { values[key.rawValue] ?? "" }
        let partText = value(.partSize)
        guard let partSize = Int(partText), partSize >= Int(UploadTarget.minimumPartSize) else {
            throw .configuration(
                target: path, message: "part_size: expected a number of bytes of at least 5M, found \"\(partText)\"")
        }
        let addressing = value(.addressing)
        guard addressing == "path" || addressing == "virtual" else {
            throw .configuration(target: path, message: "addressing: expected path or virtual, found \"\(addressing)\"")
        }
        self.init(
            name: value(.name), url: value(.url),
            location: S3Location(
                bucket: value(.bucket), prefix: value(.prefix), endpoint: value(.endpoint),
                region: value(.region), virtualHost: addressing == "virtual", credentials: ""),
            credentials: S3Credentials(accessKey: value(.accessKey), secretKey: value(.secretKey)),
            partSize: partSize, machineID: value(.machineID))
    }
}
