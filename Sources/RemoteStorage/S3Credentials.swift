import SystemCalls

/// An S3 access key pair, read from an AWS-style credentials file.
package struct S3Credentials: Equatable {
    package var accessKey: String
    package var secretKey: String

    package init(accessKey: String, secretKey: String) {
        self.accessKey = accessKey
        self.secretKey = secretKey
    }

    /// Reads `spec`: an absolute path (checked: a regular file, not readable or writable by group or others),
    /// or a bare name in `$CREDENTIALS_DIRECTORY` (systemd's `LoadCredential=`, protected by systemd).
    ///
    /// The file holds `aws_access_key_id = ...` and `aws_secret_access_key = ...`, optionally under `[default]`.
    package static func load(_ spec: String, environment: [String: String]) throws(UploadError) -> S3Credentials {
        var path = spec
        var checkMode = true
        if !spec.hasPrefix("/") {
            guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
                throw .credentials(
                    path: spec,
                    message: "a bare name is looked up in $CREDENTIALS_DIRECTORY, "
                        + "which is not set (use LoadCredential= in oopsd.service, or an absolute path)")
            }
            path = directory + "/" + spec
            checkMode = false
        }
        let info: FileStatus
        do {
            guard let status = try FileSystem.status(path) else {
                throw SystemError("stat", path: path, errno: .noSuchFileOrDirectory)
            }
            info = status
        } catch { throw .file(doing: "reading the credentials", cause: SystemError(caught: error)) }
        guard info.kind == .regular else { throw .credentials(path: path, message: "is not a regular file") }
        if checkMode {
            let mode = info.permissions & 0o777
            if mode & 0o077 != 0 {
                throw .credentials(
                    path: path,
                    message: "mode \(String(mode, radix: 8)) lets group or others read or "
                        + "write the secret key; expected 600 or 400 (chmod 600 \(path))")
            }
            if info.uid != 0 && info.uid != CurrentProcess.effectiveUserID {
                throw .credentials(path: path, message: "is owned by uid \(info.uid), expected root")
            }
        }
        let text: String
        do { text = try FileSystem.readText(path) } catch {
            throw .file(doing: "reading the credentials", cause: SystemError(caught: error))
        }
        return try parse(text, path: path)
    }

    /// Parses the credentials text of `path` (for messages).
    package static func parse(_ text: String, path: String) throws(UploadError) -> S3Credentials {
        var values: [String: String] = [:]
        var section = "default"
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated()
        {
            let line = raw.trimming(" \t\r")
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimming(" ")
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw .credentials(path: path, message: "line \(index + 1): expected key = value")
            }
            guard section == "default" else { continue }
            values[line[..<equals].trimming(" \t").lowercased()] = line[line.index(after: equals)...].trimming(" \t")
        }
        guard let access = values["aws_access_key_id"], !access.isEmpty else {
            throw .credentials(path: path, message: "no aws_access_key_id in the [default] profile")
        }
        guard let secret = values["aws_secret_access_key"], !secret.isEmpty else {
            throw .credentials(path: path, message: "no aws_secret_access_key in the [default] profile")
        }
        return S3Credentials(accessKey: access, secretKey: secret)
    }
}
