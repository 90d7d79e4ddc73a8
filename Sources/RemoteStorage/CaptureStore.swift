/// What recording the dumps the capture kernel sent needs from the target (`NetworkCaptureRecords`): the files of
/// the directories below one directory, and reading and writing small files. `S3Client` and `SFTPClient` provide it;
/// paths are relative to the target's root (S3: keys in the bucket; SFTP: below the URL's directory).
package protocol CaptureStore {
    /// The files of the subdirectories of `directory` that `enter` accepts, as `SUBDIRECTORY/NAME` (S3 lists every
    /// key below `directory` at once: deeper paths and other subdirectories may come too). A missing `directory`
    /// holds none.
    func files(below directory: String, entering enter: (String) -> Bool) throws(UploadError) -> [StoredFile]
    /// The file `path`, whole; larger than `limit` bytes is an error.
    func read(_ path: String, limit: Int) throws(UploadError) -> [UInt8]
    /// Stores `bytes` as `path`, replacing what was there; never leaves a part of `bytes` as `path`.
    func write(_ path: String, _ bytes: [UInt8]) throws(UploadError)
    /// The URL of `path`, for messages.
    func url(of path: String) -> String
}

/// One file a `CaptureStore` listed.
package struct StoredFile: Equatable {
    /// Relative to the directory listed.
    package var path: String
    /// The modification time as the server wrote it (ISO 8601); empty when the listing does not say.
    package var modified: String

    package init(path: String, modified: String = "") { (self.path, self.modified) = (path, modified) }
}

extension S3Client: CaptureStore {
    package func files(below directory: String, entering enter: (String) -> Bool) throws(UploadError) -> [StoredFile] {
        let prefix = directory + "/"
        return try listObjects(prefix: prefix).map {
            StoredFile(path: String($0.key.dropFirst(prefix.count)), modified: $0.lastModified)
        }
    }

    package func read(_ path: String, limit: Int) throws(UploadError) -> [UInt8] {
        try getObject(key: path, limit: limit)
    }

    package func write(_ path: String, _ bytes: [UInt8]) throws(UploadError) {
        _ = try putObject(key: path, body: .bytes(bytes))
    }

    package func url(of path: String) -> String { url(key: path) }
}

extension SFTPClient: CaptureStore {
    package func files(below directory: String, entering enter: (String) -> Bool) throws(UploadError) -> [StoredFile] {
        guard let names = try list(directory) else { return [] }
        var files: [StoredFile] = []
        for name in names where enter(name) {
            // Gone since, or not a directory (OpenSSH answers "no such file" to opening a file as one).
            guard let inner = try list(directory + "/" + name) else { continue }
            files += inner.map { StoredFile(path: name + "/" + $0) }
        }
        return files
    }

    package func read(_ path: String, limit: Int) throws(UploadError) -> [UInt8] { try get(path, limit: limit) }

    package func write(_ path: String, _ bytes: [UInt8]) throws(UploadError) { try put(path, body: .bytes(bytes)) }

    package func url(of path: String) -> String { url(path) }
}
