import OopsConfig
import SystemCalls

/// An S3-compatible bucket: where objects go and how requests are addressed.
public struct S3Location: Equatable, Sendable {
    public var bucket: String
    /// Key prefix without leading or trailing slashes (may be empty).
    public var prefix: String
    /// `scheme://host[:port]`, no trailing slash.
    public var endpoint: String
    public var region: String
    /// True: `BUCKET.host/KEY`; false: `host/BUCKET/KEY`.
    public var virtualHost: Bool
    /// `Credentials=` as configured (a path, or a name in `$CREDENTIALS_DIRECTORY`).
    public var credentials: String
}

/// An SFTP drop box.
public struct SFTPLocation: Equatable, Sendable {
    public var user: String
    public var host: String
    public var port: Int
    /// The directory on the server, as in the URL (`/srv/dumps`, or `/~/dumps` below the home directory).
    public var path: String
    /// The private key file (already under the host root); its public half is `<key>.pub`.
    public var keyFile: String
    /// The pinned host key: base64 SHA-256, without the `SHA256:` prefix.
    public var hostKeySHA256: String
}

/// One checked `[Upload.NAME]` section.
public struct UploadTarget: Equatable, Sendable {
    /// What kind of server, and where.
    public enum Location: Equatable, Sendable {
        case s3(S3Location)
        case sftp(SFTPLocation)
    }

    public var name: String
    public var location: Location
    /// Bytes per second; nil: no limit.
    public var maxRate: UInt64?
    public var partSize: UInt64
    /// The URL as configured, for messages.
    public var url: String

    /// The smallest part S3 accepts (except for the last one).
    public static let minimumPartSize: UInt64 = 5 << 20

    /// Checks a configured target; paths are resolved under `root`.
    public static func check(
        _ configured: OopsConfiguration.UploadTarget, root: HostRoot
    ) throws(UploadError)
        -> UploadTarget
    {
        let name = configured.name
        let at = configured.origin.map { " (\($0))" } ?? ""
        func fail(_ message: String) -> UploadError { .configuration(target: name, message: message + at) }
        let url = configured.url
        if url.isEmpty { throw fail("URL= is missing; expected s3://BUCKET/PREFIX or sftp://USER@HOST[:PORT]/PATH") }
        guard configured.partSize >= minimumPartSize else {
            throw fail("PartSize=\(configured.partSize) is below S3's minimum of 5M")
        }
        if url.hasPrefix("s3://") {
            let rest = url.dropFirst(5)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let bucket = String(rest[..<slash])
            guard !bucket.isEmpty,
                bucket.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" })
            else { throw fail("URL=\(url): expected s3://BUCKET/PREFIX with a bucket name of letters, digits, . - _") }
            let prefix = rest[slash...].split(separator: "/").joined(separator: "/")
            var endpoint = configured.endpoint
            if endpoint.isEmpty { endpoint = "https://s3.\(configured.region).amazonaws.com" }
            guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
                throw fail("Endpoint=\(endpoint): expected http://HOST[:PORT] or https://HOST[:PORT]")
            }
            while endpoint.hasSuffix("/") { endpoint.removeLast() }
            guard !configured.credentials.isEmpty else {
                throw fail("Credentials= is missing; expected an AWS-style credentials file")
            }
            let credentials =
                configured.credentials.hasPrefix("/")
                ? root.path(configured.credentials) : configured.credentials
            return UploadTarget(
                name: name,
                location: .s3(
                    S3Location(
                        bucket: bucket, prefix: prefix, endpoint: endpoint, region: configured.region,
                        virtualHost: configured.addressing == "virtual", credentials: credentials)),
                maxRate: configured.maxRate, partSize: configured.partSize, url: url)
        }
        if url.hasPrefix("sftp://") {
            let rest = url.dropFirst(7)
            guard let slash = rest.firstIndex(of: "/"), let at = rest[..<slash].firstIndex(of: "@") else {
                throw fail("URL=\(url): expected sftp://USER@HOST[:PORT]/PATH")
            }
            let user = String(rest[..<at])
            let hostPort = rest[rest.index(after: at)..<slash]
            var host = String(hostPort)
            var port = 22
            if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
                host = String(hostPort[..<colon])
                guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(number) else {
                    throw fail("URL=\(url): the port is not a number from 1 to 65535")
                }
                port = number
            }
            guard !user.isEmpty, !host.isEmpty else { throw fail("URL=\(url): expected sftp://USER@HOST[:PORT]/PATH") }
            var path = String(rest[slash...])
            while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
            guard !configured.keyFile.isEmpty else { throw fail("KeyFile= is missing; SFTP logs in with a key") }
            let fingerprint = configured.hostKey
            guard fingerprint.hasPrefix("SHA256:"), fingerprint.count > 7 else {
                throw fail(
                    "HostKey=\(fingerprint.isEmpty ? "" : fingerprint) must pin the server's key as SHA256:BASE64 "
                        + "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub prints it)")
            }
            return UploadTarget(
                name: name,
                location: .sftp(
                    SFTPLocation(
                        user: user, host: host, port: port, path: path, keyFile: root.path(configured.keyFile),
                        hostKeySHA256: String(fingerprint.dropFirst(7)))),
                maxRate: configured.maxRate, partSize: configured.partSize, url: url)
        }
        throw fail("URL=\(url): expected s3://BUCKET/PREFIX or sftp://USER@HOST[:PORT]/PATH")
    }
}
