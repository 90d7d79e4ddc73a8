import Synchronization

/// A request to stop shipping, shared by the service and its upload thread (SIGTERM): the parts in flight finish and
/// are recorded in `.upload/<target>.json`, no new part or file starts, and the next start resumes from there.
public final class UploadStop: Sendable {
    private let requested = Atomic<Bool>(false)

    public init() {}

    /// Asks every shipper holding this value to stop at its next part boundary.
    public func request() { requested.store(true, ordering: .relaxed) }

    /// Whether a stop was asked for.
    public var isRequested: Bool { requested.load(ordering: .relaxed) }
}
