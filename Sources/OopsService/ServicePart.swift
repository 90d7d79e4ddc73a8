/// One part of the running service with a lifetime of its own: arming, collection, uploads, metrics, the watchdog.
/// The `ServiceSupervisor` starts the parts in order and stops them in the reverse order.
protocol ServicePart: AnyObject {
    /// What the journal calls the part ("arming", "uploads").
    var name: String { get }

    /// Starts the part; long work goes to a thread of its own so that `start` returns at once. Throws when the part
    /// cannot run at all; the supervisor logs that and starts the others.
    func start() throws

    /// Asks the part to stop at its next safe point and waits for it at most `seconds`. Returns false when work
    /// was still in flight then (it is abandoned, and whatever it recorded lets the next start resume).
    func stop(waitingUpTo seconds: Double) -> Bool
}
