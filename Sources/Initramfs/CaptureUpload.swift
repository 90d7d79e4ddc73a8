/// What a capture initramfs holds to send the dump over the network (`[Capture] Target=s3://...`): the uploader
/// program with its shared libraries, the frozen target (credentials inlined, mode 600) and the frozen network, and
/// the modules of the interface's device. Where they go: `CaptureNetwork`'s paths.
public struct CaptureUpload: Equatable, Sendable {
    /// The `oopsd-capture-upload` executable (absolute, inside the root).
    public var uploaderBinary: String
    /// The frozen target's text.
    public var targetText: String
    /// The interface of the default route, its address configuration and device modules.
    public var interface: DefaultRouteInterface

    public init(uploaderBinary: String, targetText: String, interface: DefaultRouteInterface) {
        (self.uploaderBinary, self.targetText, self.interface) = (uploaderBinary, targetText, interface)
    }
}
