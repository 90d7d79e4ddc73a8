import DumpFormat
import Testing

/// The frozen network of a capture to the network: written, read back, and refused with the line when malformed.
@Suite struct CaptureNetworkTests {
    @Test func roundTrips() throws {
        let network = CaptureNetwork(
            interface: "enp1s0", mac: "52:54:00:0d:0e:0f", address: "10.0.2.15", prefixLength: 24, gateway: "10.0.2.2",
            dnsServers: ["10.0.2.3", "192.0.2.53"])
        #expect(try CaptureNetwork(parsing: network.text()) == network)
        var onLink = network
        onLink.gateway = nil
        onLink.dnsServers = []
        #expect(try CaptureNetwork(parsing: onLink.text()) == onLink)
    }

    @Test(arguments: [
        ("mac=52:54:00:0d:0e", "line 2: mac: expected aa:bb:cc:dd:ee:ff, found \"52:54:00:0d:0e\""),
        ("address=10.0.2.256", "line 3: address: expected an IPv4 address, found \"10.0.2.256\""),
        ("prefix_length=33", "line 4: prefix_length: expected 1 to 32, found \"33\""),
        ("gateway=gw", "line 5: gateway: expected an IPv4 address or nothing, found \"gw\""),
        ("dns=::1", "line 6: dns: expected an IPv4 address, found \"::1\""),
        ("mtu=1500", "line 6: unknown key \"mtu\""),
    ])
    func malformedValuesNameTheLine(replacement: String, message: String) throws {
        let good = CaptureNetwork(
            interface: "eth0", mac: "52:54:00:0d:0e:0f", address: "10.0.2.15", prefixLength: 24, gateway: "10.0.2.2",
            dnsServers: []
        ).text()
        let key = replacement.prefix(while: { $0 != "=" })
        var lines = good.split(separator: "\n").map(String.init)
        if let index = lines.firstIndex(where: { $0.hasPrefix(key + "=") }) {
            lines[index] = replacement
        } else {
            lines.append(replacement)
        }
        #expect(
            throws: CaptureNetwork.failure(
                line: Int(message.dropFirst(5).prefix(while: \.isNumber))!,
                message: String(message.drop(while: { $0 != ":" }).dropFirst(2)))
        ) {
            try CaptureNetwork(parsing: lines.joined(separator: "\n") + "\n")
        }
    }

    @Test func addressesConvert() {
        #expect(CaptureNetwork.ipv4("10.0.2.15") == 0x0A00_020F)
        #expect(CaptureNetwork.dotted(0x0A00_020F) == "10.0.2.15")
        #expect(CaptureNetwork.ipv4("1.2.3") == nil)
        #expect(CaptureNetwork.ipv4("1.2.3.+4") == nil)
    }
}
