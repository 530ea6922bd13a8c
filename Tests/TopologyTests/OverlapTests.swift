import Testing
import PacketWire
import TestSupport
@testable import Topology

/// Overlapping subnets: one error per subnet, naming the first block written before it that it
/// overlaps and how many more; found without comparing every pair.
@Suite("Overlapping subnets")
struct OverlapTests {
    /// The search against the plain comparison of every pair, on random blocks of a few sizes
    /// (so that blocks repeat, nest and sit side by side).
    @Test func findAgreesWithEveryPairCompared() {
        var random = SeededGenerator(seed: 11)
        for _ in 0..<200 {
            let blocks = (0..<Int.random(in: 1...60, using: &random)).map { _ -> IPv6Prefix in
                let length = [92, 94, 96, 100, 104, 108, 112].randomElement(using: &random)!
                let address = IPv6Address(high: 0, low: UInt64.random(in: 0...0xFFFF_FFFF, using: &random) << 12)
                return IPv6Prefix(containing: address, length: length)
            }
            var expected: [BlockOverlaps.Overlap] = []
            for (index, block) in blocks.enumerated() {
                let earlier = blocks.indices.filter { $0 < index && blocks[$0].overlaps(block) }
                if let first = earlier.first { expected.append(BlockOverlaps.Overlap(block: index, first: first, count: earlier.count)) }
            }
            #expect(BlockOverlaps.find(blocks) == expected, "\(blocks)")
        }
    }

    /// 2,000 subnets on four blocks: 1,996 errors, each one line; not 2 million.
    @Test func manyOverlapsGiveOneErrorEach() {
        var yaml = """
            region: us-east-1
            zones:
              - {name: us-east-1a, id: use1-az1}
            vpcs:
              - {name: v, cidr: 10.0.0.0/16}
            subnets:

            """
        for index in 0..<2000 { yaml += "  - {name: s\(index), vpc: v, zone: us-east-1a, cidr: 10.0.\(index % 4).0/24}\n" }
        yaml += "  - {name: wide, vpc: v, zone: us-east-1a, cidr: 10.0.0.0/22}\n"
        let load = Topology.load(yaml: yaml)
        #expect(load.errors.count == 1997)
        #expect(load.errors[0].message == "subnet 's4': 10.0.0.0/24 overlaps 10.0.0.0/24 of subnet 's0' (line 7)")
        #expect(load.errors[1995].message == "subnet 's1999': 10.0.3.0/24 overlaps 10.0.3.0/24 of subnet 's3' (line 10) and 498 other subnets")
        #expect(load.errors[1996].message == "subnet 'wide': 10.0.0.0/22 overlaps 10.0.0.0/24 of subnet 's0' (line 7) and 1999 other subnets")
    }
}
