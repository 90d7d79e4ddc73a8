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
                "no [Upload.NAME] section has URL=\(wanted); the capture kernel takes Endpoint=, Region= and "
                    + "Credentials= from it (sections: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
        let target = try UploadTarget.check(configured, root: root)
        guard case .s3(let location) = target.location else {
            throw fail("the capture kernel sends dumps to S3 only; SFTP targets are shipped after the reboot")
        }
        let credentials = try S3Credentials.load(location.credentials, environment: environment)
        let frozen = FrozenS3Target(
            name: target.name, url: target.url, location: location, credentials: credentials,
            partSize: Int(min(target.partSize, 16 << 20)), machineID: try MachineID.read(root: root))
        let interface = try DefaultRouteInterface(root: root)
        let uploader = Path.join(Path.parent(captureBinary), "oopsd-capture-upload")
        guard FileSystem.exists(root.path(uploader)) else {
            throw fail("\(uploader) is missing: the capture kernel's uploader is installed beside oopsd-capture")
        }
        return CaptureUpload(uploaderBinary: uploader, targetText: try frozen.text(), interface: interface)
    }
}
