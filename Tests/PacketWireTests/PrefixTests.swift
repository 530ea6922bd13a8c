import Testing
import PacketWire
import TestSupport

@Suite("Prefixes")
struct PrefixTests {
    @Test func ipv4Text() {
        #expect(IPv4Prefix("10.1.0.0/16")?.description == "10.1.0.0/16")
        #expect(IPv4Prefix("0.0.0.0/0")?.size == 1 << 32)
        #expect(IPv4Prefix("10.1.2.3/32")?.last == IPv4Address(10, 1, 2, 3))
        for bad in ["10.1.0.0", "10.1.0.0/33", "10.1.0.0/", "/8", "10.1.0.0/-1", "10.1.0.0/1a", "10.1.0.0/16/2"] {
            #expect(IPv4Prefix(bad) == nil, "\(bad)")
            #expect(!IPv4Prefix.hostBitsSet(bad), "\(bad)")
        }
        #expect(IPv4Prefix("10.1.0.1/16") == nil)
        #expect(IPv4Prefix.hostBitsSet("10.1.0.1/16"))
    }

    @Test func ipv6Text() {
        #expect(IPv6Prefix("fd00:1::/56")?.description == "fd00:1::/56")
        #expect(IPv6Prefix("::/0")?.contains(IPv6Address("2001:db8::1")!) == true)
        #expect(IPv6Prefix("fd00:1::1/64") == nil && IPv6Prefix.hostBitsSet("fd00:1::1/64"))
        #expect(IPv6Prefix("fd00:1:0:1::/64")?.last == IPv6Address("fd00:1:0:1:ffff:ffff:ffff:ffff"))
        #expect(IPv6Prefix("fd00::/129") == nil)
    }

    /// Containment and overlap against a plain bit-by-bit reference, on random prefixes.
    @Test func containmentMatchesABitwiseReference() {
        var generator = SeededGenerator(seed: 4632)
        for _ in 0..<20_000 {
            let a = IPv4Prefix(containing: IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator) & 0xFF0F_0000),
                               length: Int.random(in: 0...32, using: &generator))
            let b = IPv4Prefix(containing: IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator) & 0xFF0F_0000),
                               length: Int.random(in: 0...32, using: &generator))
            func bitsMatch(_ x: UInt32, _ y: UInt32, _ length: Int) -> Bool {
                (0..<length).allSatisfy { bit in (x >> (31 - UInt32(bit))) & 1 == (y >> (31 - UInt32(bit))) & 1 }
            }
            let aContainsB = b.length >= a.length && bitsMatch(a.network.value, b.network.value, a.length)
            #expect(a.contains(b) == aContainsB)
            #expect(a.overlaps(b) == (aContainsB || (a.length >= b.length && bitsMatch(a.network.value, b.network.value, b.length))))
        }
    }
}
