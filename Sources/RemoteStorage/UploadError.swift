import SystemCalls

/// Why shipping a dump to a target failed, worded for the journal and `oopsctl list`.
public enum UploadError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `[Upload.NAME]` is unusable (bad URL, missing key file ...): `origin` names the file and line.
    case configuration(target: String, message: String)
    /// The credentials file is missing, unreadable, malformed or readable by others.
    case credentials(path: String, message: String)
    /// The request could not be made or was cut (DNS, connection refused, reset, timeout, host key mismatch ...).
    case transport(target: String, url: String, message: String)
    /// The server answered with an error status; `code` is S3's `<Code>` when there is one.
    case server(target: String, url: String, status: Int, code: String, message: String)
    /// A local file of the dump is not usable (`message` says why; no system call failed).
    case localFile(path: String, message: String)
    /// A system call on a local file failed: what was being done, and the call, path and errno.
    case file(doing: String, cause: SystemError)
    /// The service is stopping: shipping to `target` ended at a part boundary; the next start resumes.
    case stopped(target: String)
    /// The server's answer is not what the protocol promises.
    case protocolViolation(target: String, url: String, message: String)

    /// True when trying again later may help (transport errors, 5xx, throttling); false for 4xx answers.
    public var isTransient: Bool {
        switch self {
        case .transport: true
        case .server(_, _, let status, let code, _):
            status >= 500 || status == 429 || code == "SlowDown"
                || code == "RequestTimeout"
        case .protocolViolation: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .configuration(let target, let message): "[Upload.\(target)]: \(message)"
        case .credentials(let path, let message): "credentials \(path): \(message)"
        case .transport(let target, let url, let message): "\(target): \(url): \(message)"
        case .server(let target, let url, let status, let code, let message):
            "\(target): \(url): HTTP \(status)" + (code.isEmpty ? "" : " \(code)")
                + (message.isEmpty ? "" : ": \(message)")
                + Self.hint(status: status, code: code)
        case .localFile(let path, let message): "\(path): \(message)"
        case .file(let doing, let cause): "\(doing): \(cause)"
        case .protocolViolation(let target, let url, let message): "\(target): \(url): \(message)"
        case .stopped(let target):
            "\(target): stopped for the service's shutdown; the next start resumes from the parts stored"
        }
    }

    /// What to do about well-known S3 errors.
    static func hint(status: Int, code: String) -> String {
        switch code {
        case "NoSuchBucket": " (the bucket does not exist; create it or fix URL=)"
        case "InvalidAccessKeyId": " (the access key is unknown to the server; check Credentials=)"
        case "SignatureDoesNotMatch": " (wrong secret key, or Region= differs from the server's; check Credentials=)"
        case "AccessDenied": " (the key may not write to this bucket)"
        default: ""
        }
    }
}
