/// What a capture initramfs holds to send the dump over the network (`[Capture] Target=s3://...` or `sftp://...`):
/// the uploader program with its shared libraries, the frozen target (credentials inlined, mode 600), the files it
/// names (an SFTP login key, mode 600), the frozen network, and the modules of the interface's device. Where they
/// go: `CaptureNetwork`'s paths.
public struct CaptureUpload: Equatable, Sendable {
    /// The `oopsd-capture-upload` executable (absolute, inside the root).
    public var uploaderBinary: String
    /// The frozen target's text.
    public var targetText: String
    /// The interface of the default route, its address configuration and device modules.
    public var interface: DefaultRouteInterface
    /// Files the target needs beside it (path in the initramfs, bytes): root-only, like the target.
    public var secretFiles: [SecretFile]

    /// A root-only file of the initramfs.
    public struct SecretFile: Equatable, Sendable {
        public var path: String
        public var bytes: [UInt8]

        public init(path: String, bytes: [UInt8]) { (self.path, self.bytes) = (path, bytes) }
    }

    public init(
        uploaderBinary: String, targetText: String, interface: DefaultRouteInterface, secretFiles: [SecretFile] = []
    ) {
        (self.uploaderBinary, self.targetText, self.interface) = (uploaderBinary, targetText, interface)
        self.secretFiles = secretFiles
    }
}
