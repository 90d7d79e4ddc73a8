import SystemCalls

/// `manifest.json`, stored last: every file of the dump with its size and SHA-256. Its presence on the server means
/// the dump arrived whole. Written without Foundation: the service's uploads and the capture kernel's write it alike.
package struct Manifest: Equatable {
    /// One file.
    package struct File: Equatable {
        package var name: String
        package var size: UInt64
        package var sha256: String

        package init(name: String, size: UInt64, sha256: String) {
            (self.name, self.size, self.sha256) = (name, size, sha256)
        }
    }

    package var machineID: String
    package var dumpID: String
    package var files: [File]

    package init(machineID: String, dumpID: String, files: [File]) {
        (self.machineID, self.dumpID, self.files) = (machineID, dumpID, files)
    }

    /// The JSON bytes: keys sorted and `"key" : value` as the first manifests (written by `JSONEncoder`) had them, so
    /// the same dump always gives the same manifest, whichever side wrote it.
    package func encoded() -> [UInt8] {
        let value = JSONValue.object([
            ("dump_id", .string(dumpID)),
            (
                "files",
                .array(
                    files.map {
                        .object([
                            ("name", .string($0.name)), ("sha256", .string($0.sha256)), ("size", .int(Int64($0.size))),
                        ])
                    })
            ),
            ("machine_id", .string(machineID)),
        ])
        return Array(value.serialized(spaceBeforeColon: true).utf8)
    }
}
