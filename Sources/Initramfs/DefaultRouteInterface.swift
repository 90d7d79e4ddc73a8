import DumpFormat
import SystemCalls

#if canImport(Glibc)
import Glibc
#endif

/// The interface the running system reaches the world through (its IPv4 default route), frozen for the capture
/// kernel: address, prefix, gateway, DNS servers and MAC (`CaptureNetwork`), and what its device needs loaded
/// (a sysfs walk from `/sys/class/net/<interface>/device`, as for the dump disk).
public struct DefaultRouteInterface: Equatable, Sendable {
    public var network: CaptureNetwork
    /// `modalias` values and driver modules of the interface's device and its parents.
    public var walk: BlockDeviceWalk

    /// Reads `/proc/net/route`, `/sys/class/net` and `/etc/resolv.conf` under `root`; `addressOf` gives the
    /// interface's IPv4 address and prefix length (the running system's, by `getifaddrs`, unless a test says).
    public init(
        root: HostRoot, addressOf: (String) -> (address: String, prefixLength: Int)? = Self.ipv4Address
    ) throws(InitramfsError) {
        let routePath = root.path("/proc/net/route")
        let routes: String
        do { routes = try FileSystem.readText(routePath) } catch {
            throw .target(path: routePath, message: "cannot read the routing table: \(error)")
        }
        guard let route = Self.defaultRoute(routes) else {
            throw .target(
                path: routePath,
                message: "no IPv4 default route: the capture kernel would not know how to reach the upload target")
        }
        guard let (address, prefixLength) = addressOf(route.interface) else {
            throw .target(path: "/sys/class/net/\(route.interface)", message: "the interface has no IPv4 address")
        }
        let macPath = root.path("/sys/class/net/\(route.interface)/address")
        let mac: String
        do { mac = BlockDeviceWalk.trim(try FileSystem.readText(macPath)).lowercased() } catch {
            throw .target(path: macPath, message: "cannot read the interface's MAC address: \(error)")
        }
        walk = try BlockDeviceWalk(sysfsDevice: root.path("/sys/class/net/\(route.interface)/device"), root: root)
        network = CaptureNetwork(
            interface: route.interface, mac: mac, address: address, prefixLength: prefixLength,
            gateway: route.gateway == 0 ? nil : CaptureNetwork.dotted(route.gateway),
            dnsServers: Self.nameServers(root: root))
    }

    /// The first default route (`Destination` and `Mask` 0, flag RTF_UP) of `/proc/net/route`: interface and gateway
    /// (as `a << 24 | ...`; the file holds it in network byte order, printed as a little-endian hex word).
    static func defaultRoute(_ text: String) -> (interface: String, gateway: UInt32)? {
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, fields[1] == "00000000", fields[7] == "00000000",
                let flags = UInt32(fields[3], radix: 16), flags & 1 != 0,
                let raw = UInt32(fields[2], radix: 16)
            else { continue }
            return (String(fields[0]), raw.byteSwapped)
        }
        return nil
    }

    /// IPv4 `nameserver` lines of resolv.conf; when that names only systemd-resolved's stub (127.0.0.53), the
    /// servers behind it (`/run/systemd/resolve/resolv.conf`): the capture kernel runs no resolver of its own.
    static func nameServers(root: HostRoot) -> [String] {
        func servers(_ path: String) -> [String] {
            guard let text = try? FileSystem.readText(root.path(path)) else { return [] }
            return text.split(separator: "\n").compactMap { line in
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard words.count >= 2, words[0] == "nameserver", CaptureNetwork.ipv4(String(words[1])) != nil
                else { return nil }
                return String(words[1])
            }
        }
        let configured = servers("/etc/resolv.conf")
        if configured.allSatisfy({ $0.hasPrefix("127.") }) {
            let upstream = servers("/run/systemd/resolve/resolv.conf").filter { !$0.hasPrefix("127.") }
            if !upstream.isEmpty { return upstream }
        }
        return configured.filter { !$0.hasPrefix("127.") }
    }

    /// The running system's IPv4 address and prefix length of `interface` (`getifaddrs`).
    public static func ipv4Address(of interface: String) -> (address: String, prefixLength: Int)? {
        var list: UnsafeMutablePointer<ifaddrs>?
        // Sound because the list lives until the deferred freeifaddrs; every pointer in it is nil-checked first.
        guard unsafe getifaddrs(&list) == 0 else { return nil }
        defer { unsafe freeifaddrs(list) }
        var cursor = unsafe list
        while let entry = unsafe cursor {
            defer { unsafe cursor = unsafe entry.pointee.ifa_next }
            guard let name = unsafe entry.pointee.ifa_name, unsafe String(cString: name) == interface,
                let address = unsafe entry.pointee.ifa_addr, unsafe address.pointee.sa_family == sa_family_t(AF_INET),
                let mask = unsafe entry.pointee.ifa_netmask
            else { continue }
            // Sound because `sa_family == AF_INET` above, so the address and mask are sockaddr_in.
            let value = unsafe address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                unsafe UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
            }
            let maskValue = unsafe mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                unsafe UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
            }
            return (CaptureNetwork.dotted(value), maskValue.nonzeroBitCount)
        }
        return nil
    }
}
