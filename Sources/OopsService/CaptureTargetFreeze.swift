import DumpFormat
import Initramfs
import OopsConfig
import RemoteStorage
import SystemCalls
import Upload

/// `[Capture] Target=`: the `[Upload.NAME]` section it names, checked as uploads check it, its credentials read
/// now (the capture kernel has neither `$CREDENTIALS_DIRECTORY` nor the root file system), and the network of the
/// default route, frozen for the capture initramfs.
enum CaptureTargetFreeze {
    /// Why `Target=` cannot be armed, worded for the journal and `oopsctl status`.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// What the initramfs needs for `configuration`'s `Target=`, nil when it is empty (dumps go to Directory=).
    static func upload(
        _ configuration: OopsConfiguration, root: HostRoot, captureBinary: String, environment: [String: String]
    ) throws -> CaptureUpload? {
        let wanted = configuration.capture.target
        guard !wanted.isEmpty else { return nil }
        func fail(_ message: String) -> Failure { Failure(description: "[Capture] Target=\(wanted): " + message) }
        guard let configured = configuration.upload.targets.first(where: { $0.url == wanted }) else {
            let known = configuration.upload.targets.map { "[Upload.\($0.name)] URL=\($0.url)" }
            throw fail(
                "no [Upload.NAME] section has URL=\(wanted); the capture kernel takes the address and "
                    + "the credentials or key from it (sections: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
            )
        }
        let target = try UploadTarget.check(configured, root: root)
        let machineID = try MachineID.read(root: root)
        var targetText: String
        var secretFiles: [CaptureUpload.SecretFile] = []
        switch target.location {
        case .s3(let location):
            let credentials = try S3Credentials.load(location.credentials, environment: environment)
            targetText = try FrozenS3Target(
                name: target.name, url: target.url, location: location, credentials: credentials,
                partSize: Int(min(target.partSize, 16 << 20)), machineID: machineID
            ).text()
        case .sftp(var location):
            // The login key, both halves, as the service's SFTP uploads use them; copied root-only.
            for (from, to) in [
                (location.keyFile, FrozenSFTPTarget.keyPathInInitramfs),
                (location.keyFile + ".pub", FrozenSFTPTarget.keyPathInInitramfs + ".pub"),
            ] {
                do {
                    secretFiles.append(.init(path: to, bytes: try FileSystem.readRegularFile(from, limit: 1 << 16)))
                } catch {
                    throw fail("cannot read the SFTP key \(from) for the capture initramfs: \(error)")
                }
            }
            location.keyFile = FrozenSFTPTarget.keyPathInInitramfs
            targetText = try FrozenSFTPTarget(
                name: target.name, url: target.url, location: location, machineID: machineID
            )
            .text()
        }
        let interface = try DefaultRouteInterface(root: root)
        let uploader = Path.join(Path.parent(captureBinary), "oopsd-capture-upload")
        guard FileSystem.exists(root.path(uploader)) else {
            throw fail("\(uploader) is missing: the capture kernel's uploader is installed beside oopsd-capture")
        }
        return CaptureUpload(
            uploaderBinary: uploader, targetText: targetText, interface: interface, secretFiles: secretFiles)
    }
}
