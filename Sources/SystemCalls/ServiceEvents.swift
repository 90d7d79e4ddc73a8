import CShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What woke the service's loop: one source that became readable.
public enum ServiceEvent: Equatable, Sendable {
    /// SIGTERM or SIGINT arrived: stop (the signal's number).
    case stopRequested(signal: Int32)
    /// SIGHUP arrived: read the configuration again.
    case reloadRequested
    /// Watched files or directories changed (inotify): the paths given to `watch` whose watches reported, sorted;
    /// empty when it cannot be told which (the kernel's event queue overflowed).
    case fileChanged([String])
    /// The kernel announced a device event (netlink uevent), with its `KEY=value` fields.
    case uevent([String])
}

/// The descriptors the service waits on: a signalfd for SIGTERM, SIGINT and SIGHUP (blocked for the process), an
/// inotify instance and, when asked, the kernel's uevent socket. Each is optional but the signals.
public final class ServiceEventSources {
    private let signals: Int32
    private let watches: Int32
    private let uevents: Int32
    /// What could not be opened of the optional sources (the service goes on without them).
    public let problems: [SystemError]
    /// The path each inotify watch descriptor stands for.
    private var watched: [Int32: String] = [:]

    /// Blocks SIGTERM, SIGINT and SIGHUP and opens a signalfd for them; opens inotify and, with `uevents`, the uevent
    /// socket. Throws only when the signals cannot be received.
    public init(uevents: Bool) throws {
        let signals = oops_signalfd_for_service()
        guard signals >= 0 else { throw SystemError.last("signalfd") }
        var problems: [SystemError] = []
        let watches = oops_inotify_init()
        if watches < 0 { problems.append(.last("inotify_init1")) }
        var socket: Int32 = -1
        if uevents {
            socket = oops_uevent_socket()
            if socket < 0 { problems.append(.last("socket(NETLINK_KOBJECT_UEVENT)")) }
        }
        self.signals = signals
        self.watches = watches
        self.uevents = socket
        self.problems = problems
    }

    deinit {
        for descriptor in [signals, watches, uevents] where descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    /// Whether file changes can be watched.
    public var watchesFiles: Bool { watches >= 0 }

    /// Watches `path` (a directory or file) for writes, creation, deletion, renames and attribute changes.
    public func watch(_ path: String) throws {
        guard watches >= 0 else { return }
        // Sound because `path` is bridged to a C string that lives for the call.
        let descriptor = unsafe oops_inotify_watch(watches, path)
        if descriptor < 0 { throw SystemError.last("inotify_add_watch", path: path) }
        watched[descriptor] = path
    }

    /// Waits up to `timeoutMicroseconds` (at most a minute) and returns what happened, in order: signals first, then
    /// file changes (many inotify events are one), then uevents. Empty when the wait timed out.
    public func wait(timeoutMicroseconds: UInt64) -> [ServiceEvent] {
        let descriptors = [signals, watches, uevents]
        var ready: UInt32 = 0
        let milliseconds = Int32(min(timeoutMicroseconds / 1000 + 1, 60_000))
        // Sound because poll reads `descriptors.count` entries of the array and writes the local `ready`.
        _ = unsafe oops_poll_input(descriptors, Int32(descriptors.count), milliseconds, &ready)
        var events: [ServiceEvent] = []
        if ready & 1 != 0 {
            while true {
                let signal = oops_signalfd_next(signals)
                if signal <= 0 { break }
                events.append(signal == SIGHUP ? .reloadRequested : .stopRequested(signal: signal))
            }
        }
        if ready & 2 != 0, let changed = drainWatches() { events.append(.fileChanged(changed)) }
        if ready & 4 != 0 { events += drainUevents() }
        return events
    }

    /// The watched paths with pending inotify events, reading them all; nil when there were none. Empty when an
    /// event cannot be tied to a path (queue overflow, a descriptor not watched here).
    private func drainWatches() -> [String]? {
        var descriptors = [Int32](repeating: 0, count: 64)
        var found: Int32 = 0
        // Sound because the shim writes at most `descriptors.count` entries and the count into the local `found`.
        let events = unsafe descriptors.withUnsafeMutableBufferPointer {
            unsafe oops_inotify_drain(watches, $0.baseAddress, Int32($0.count), &found)
        }
        guard events > 0 else { return nil }
        var paths: [String] = []
        for descriptor in descriptors.prefix(Int(found)) {
            guard let path = watched[descriptor] else { return [] }
            if !paths.contains(path) { paths.append(path) }
        }
        return paths.sorted()
    }

    private func drainUevents() -> [ServiceEvent] {
        var events: [ServiceEvent] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            // Sound because recv writes at most the borrowed buffer's count bytes and says how many.
            let count = unsafe buffer.withUnsafeMutableBytes {
                unsafe recv(uevents, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
            }
            if count <= 0 { break }
            events.append(.uevent(buffer[0..<count].split(separator: 0).map { String(decoding: $0, as: UTF8.self) }))
        }
        return events
    }
}
