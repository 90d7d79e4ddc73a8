import SystemCalls

/// Starts the service's parts in order and stops the started ones in the reverse order, within systemd's stop
/// timeout: each part gets the time it asked for, bounded by what is left of the whole budget.
final class ServiceSupervisor {
    private let log: any ServiceLog
    private var started: [(part: any ServicePart, stopSeconds: Double)] = []

    init(log: any ServiceLog) {
        self.log = log
    }

    /// The names of the parts running, in the order they started.
    var running: [String] { started.map(\.part.name) }

    /// Starts `part`; on failure logs why and returns false (the service goes on without it). `stopSeconds` is
    /// how long its stop may take.
    @discardableResult
    func start(_ part: any ServicePart, stopSeconds: Double) -> Bool {
        do {
            try part.start()
            started.append((part, stopSeconds))
            return true
        } catch {
            log.log(.error, "\(part.name): cannot start: \(error)", fields: [])
            return false
        }
    }

    /// Stops every started part, the last started first, within `budget` seconds in all.
    func stopAll(budget: Double) {
        var left = budget
        for (part, stopSeconds) in started.reversed() {
            let allowed = max(0, min(stopSeconds, left))
            let began = Self.now
            if !part.stop(waitingUpTo: allowed) {
                log.log(
                    .warning, "\(part.name): still busy after \(Self.seconds(allowed)) s; stopping anyway",
                    fields: [])
            }
            left -= Self.now - began
        }
        started.removeAll()
    }

    private static var now: Double { Double(MonotonicClock.microseconds) / 1_000_000 }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
