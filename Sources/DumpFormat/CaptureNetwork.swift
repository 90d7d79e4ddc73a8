/// The network the capture kernel brings up to ship the dump (`[Capture] Target=s3://...` or `sftp://...`), frozen at arm time from
/// the running system's default route: the interface (found again by its MAC address, as the capture kernel names
/// interfaces without udev), its IPv4 address and prefix, the gateway and the DNS servers. Written into the capture
/// initramfs as `/etc/oopsd/capture-network`; writer and parser live here, in one place.
///
/// The format is `key=value` lines in a fixed order (`dns=` repeats, zero or more times); everything after the
/// first `=` is the value, verbatim. Values are checked when parsed: a file that does not parse is an error naming
/// the line, the key and what was expected.
public struct CaptureNetwork: Equatable, Sendable {
    /// Where the file sits inside the capture initramfs.
    public static let pathInInitramfs = "/etc/oopsd/capture-network"
    /// Where the uploader (`oopsd-capture-upload`) sits in the capture initramfs.
    public static let uploaderPathInInitramfs = "/usr/libexec/oopsd/oopsd-capture-upload"
    /// Where the frozen upload target sits in the capture initramfs: root-only, credentials inside.
    public static let targetPathInInitramfs = "/etc/oopsd/capture-target"
    /// The last bytes of a stream `oopsd-capture` hands `oopsd-capture-upload --end-mark` once the writer completed
    /// the file: without them the upload is aborted, so a writer that dies midway leaves no object behind.
    public static let streamEndMark = Array("OOPSD-END-OF-STREAM\n".utf8)

    public enum Key: String, CaseIterable, Sendable {
        case interface
        case mac
        case address
        case prefixLength = "prefix_length"
        case gateway
        case dns
    }

    /// The interface's name on the running system (for messages: the capture kernel may name it otherwise).
    public var interface: String
    /// `aa:bb:cc:dd:ee:ff`, lower case.
    public var mac: String
    /// Dotted IPv4 address.
    public var address: String
    public var prefixLength: Int
    /// Dotted IPv4 address of the default gateway (nil: the target is on the link).
    public var gateway: String?
    /// Dotted IPv4 addresses of the name servers (resolv.conf order).
    public var dnsServers: [String]

    public init(
        interface: String, mac: String, address: String, prefixLength: Int, gateway: String?, dnsServers: [String]
    ) {
        self.interface = interface
        self.mac = mac
        self.address = address
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.dnsServers = dnsServers
    }

    /// The file's text.
    public func text() -> String {
        var lines: [(Key, String)] = [
            (.interface, interface), (.mac, mac), (.address, address), (.prefixLength, "\(prefixLength)"),
            (.gateway, gateway ?? ""),
        ]
        lines += dnsServers.map { (.dns, $0) }
        return lines.map { $0.0.rawValue + "=" + $0.1 + "\n" }.joined()
    }

    /// Parses the file's text; errors name the line.
    public init(parsing text: String) throws(CapturePlanError) {
        var values: [Key: (String, Int)] = [:]
        var dns: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw Self.failure(line: index + 1, message: "expected key=value, found \"\(line)\"")
            }
            let name = String(line[..<equals])
            let value = String(line[line.index(after: equals)...])
            guard let key = Key(rawValue: name) else {
                throw Self.failure(line: index + 1, message: "unknown key \"\(name)\"")
            }
            if key == .dns {
                guard Self.ipv4(value) != nil else {
                    throw Self.failure(
                        line: index + 1, message: "dns: expected an IPv4 address, found \"\(value)\"")
                }
                dns.append(value)
                continue
            }
            guard values[key] == nil else { throw Self.failure(line: index + 1, message: "\(name) repeats") }
            values[key] = (value, index + 1)
        }
        func value(_ key: Key) throws(CapturePlanError) -> (String, Int) {
            guard let entry = values[key] else {
                throw Self.failure(line: 0, message: "missing key \(key.rawValue)")
            }
            return entry
        }
        let (mac, macLine) = try value(.mac)
        guard Self.isMAC(mac) else {
            throw Self.failure(line: macLine, message: "mac: expected aa:bb:cc:dd:ee:ff, found \"\(mac)\"")
        }
        let (address, addressLine) = try value(.address)
        guard Self.ipv4(address) != nil else {
            throw Self.failure(
                line: addressLine, message: "address: expected an IPv4 address, found \"\(address)\"")
        }
        let (prefixText, prefixLine) = try value(.prefixLength)
        guard let prefix = Int(prefixText), (1...32).contains(prefix) else {
            throw Self.failure(
                line: prefixLine, message: "prefix_length: expected 1 to 32, found \"\(prefixText)\"")
        }
        let (gateway, gatewayLine) = try value(.gateway)
        guard gateway.isEmpty || Self.ipv4(gateway) != nil else {
            throw Self.failure(
                line: gatewayLine, message: "gateway: expected an IPv4 address or nothing, found \"\(gateway)\"")
        }
        self.init(
            interface: try value(.interface).0, mac: mac, address: address, prefixLength: prefix,
            gateway: gateway.isEmpty ? nil : gateway, dnsServers: dns)
    }

    /// An error in this file (`CapturePlanError`, naming this file).
    public static func failure(line: Int, message: String) -> CapturePlanError {
        CapturePlanError(line: line, message: message, file: pathInInitramfs)
    }

    /// The address in network byte order as a host integer (`a.b.c.d` is `a << 24 | ...`), nil when malformed.
    public static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }), let byte = UInt8(part)
            else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    /// The dotted form of `value` (`a << 24 | ...`).
    public static func dotted(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }

    static func isMAC(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && UInt8($0, radix: 16) != nil }
    }
}
