import Testing
import PacketWire

@Suite("Addresses")
struct AddressTests {
    @Test func ipv4Text() {
        #expect(IPv4Address("10.0.1.255")?.value == 0x0A00_01FF)
        #expect(IPv4Address(192, 168, 0, 1).description == "192.168.0.1")
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1..2.3", "a.b.c.d", "1.2.3.4 "] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
    }

    /// RFC 5952 canonical forms.
    @Test(arguments: [
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::", "::"), ("::1", "::1"), ("fd00::", "fd00::"),
        ("FD00:1::10", "fd00:1::10"),
        ("::ffff:10.0.0.1", "::ffff:a00:1"),
    ])
    func ipv6Text(_ input: String, _ canonical: String) throws {
        let address = try #require(IPv6Address(input))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test func ipv6Refusals() {
        for bad in ["", ":", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::", ":::", "1:2:3:4:5:6:7::8"] {
            #expect(IPv6Address(bad) == nil, "\(bad)")
        }
    }

    @Test func macText() {
        #expect(MACAddress("02:00:0a:ff:00:01")?.description == "02:00:0a:ff:00:01")
        #expect(MACAddress("02:00:0a:ff:00") == nil)
        #expect(MACAddress("02:00:0a:ff:00:1") == nil)
    }
}
