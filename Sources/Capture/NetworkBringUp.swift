import CShim
import DumpFormat
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Brings up the network frozen at arm time (`CaptureNetwork`) in the capture kernel: finds the interface by its
/// MAC address (the capture kernel names interfaces without udev), gives it the frozen IPv4 address, prefix and
/// default route, waits for the link, and writes `/etc/resolv.conf` with the frozen name servers.
public enum NetworkBringUp {
    /// A network that could not be brought up: what was being done and why.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Configures the interface; returns the name the capture kernel gave it.
    public static func run(
        _ network: CaptureNetwork, timeoutSeconds: Int, log: (String) -> Void
    ) throws(Failure) -> String {
        // Sound because the names are bridged for each call; `step` points at a static string of the shim.
        _ = unsafe oops_net_up("lo")
        let deadline = CaptureClock.monotonicNanoseconds() + UInt64(max(1, timeoutSeconds)) * 1_000_000_000
        var name: String?
        while name == nil {
            name = interface(withMAC: network.mac)
            if name != nil || CaptureClock.monotonicNanoseconds() > deadline { break }
            usleep(100_000)
        }
        guard let name else {
            let seen = ((try? FileSystem.listDirectory("/sys/class/net")) ?? []).map { "\($0) \(mac(of: $0) ?? "?")" }
            throw Failure(
                description: "no interface with MAC \(network.mac) (\(network.interface) when armed) after "
                    + "\(timeoutSeconds)s; interfaces seen: \(seen.isEmpty ? "none" : seen.joined(separator: ", "))")
        }
        guard let address = CaptureNetwork.ipv4(network.address) else {
            throw Failure(description: "address \(network.address) is not an IPv4 address")
        }
        let gateway = network.gateway.flatMap(CaptureNetwork.ipv4) ?? 0
        var step: UnsafePointer<CChar>?
        if unsafe oops_net_configure(name, address, Int32(network.prefixLength), gateway, &step) != 0 {
            let call = unsafe step.map { unsafe String(cString: $0) } ?? "configure"
            throw Failure(description: "\(SystemError(call, path: name, errno: oops_errno()))")
        }
        log(
            "network: \(name) (MAC \(network.mac)) up as \(network.address)/\(network.prefixLength)"
                + (network.gateway.map { ", default route via \($0)" } ?? ""))
        // The link: virtio and most NICs report carrier within a second; a cable that stays down ends the wait.
        var carrier = false
        while CaptureClock.monotonicNanoseconds() < deadline {
            if let text = try? FileSystem.readText("/sys/class/net/\(name)/carrier"), text.hasPrefix("1") {
                carrier = true
                break
            }
            usleep(100_000)
        }
        if !carrier { log("network: \(name) reports no carrier after \(timeoutSeconds)s; trying anyway") }
        if !network.dnsServers.isEmpty {
            let text = network.dnsServers.map { "nameserver \($0)\n" }.joined()
            do {
                try FileSystem.makeDirectory("/etc", mode: 0o755, parents: true)
                try FileSystem.writeAtomically("/etc/resolv.conf", Array(text.utf8), mode: 0o644)
            } catch { log("network: cannot write /etc/resolv.conf: \(error)") }
        }
        return name
    }

    static func interface(withMAC wanted: String) -> String? {
        for name in (try? FileSystem.listDirectory("/sys/class/net")) ?? [] where mac(of: name) == wanted {
            return name
        }
        return nil
    }

    static func mac(of name: String) -> String? {
        guard let text = try? FileSystem.readText("/sys/class/net/\(name)/address") else { return nil }
        return String(text.prefix(while: { $0 != "\n" })).lowercased()
    }
}
