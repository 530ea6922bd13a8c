import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import TestSupport

// The dataplane's tables against plain reference implementations, on random operations.

@Suite("Flow table")
struct FlowTableTests {
    static func randomKey(_ generator: inout SeededGenerator) -> FlowKey {
        if Bool.random(using: &generator) {
            return FlowKey(source: IPv4Address(UInt32.random(in: 0...0xFFFF, using: &generator)),
                           destination: IPv4Address(0x0A00_0001), sourcePort: .random(in: 0...65535, using: &generator),
                           destinationPort: 80, proto: .tcp)
        }
        return FlowKey(source: IPv6Address(high: 0xFD00, low: UInt64.random(in: 0...0xFFFF, using: &generator)),
                       destination: IPv6Address(high: 0xFD00, low: 1), sourcePort: .random(in: 0...65535, using: &generator),
                       destinationPort: 443, proto: .udp)
    }

    /// Inserts, lookups from both directions and removals against a Dictionary; the small table
    /// runs full most of the time, so that keys overflow into their secondary buckets and move.
    @Test(arguments: [2000, 64]) func matchesADictionary(capacity: Int) {
        var generator = SeededGenerator(seed: 11)
        let table = FlowTable(capacity: capacity, seed: 42)
        var reference: [Int: (FlowKey, FlowKey)] = [:]
        var keys: [FlowKey: (Int, FlowDirection)] = [:]
        for _ in 0..<60_000 {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<5:
                let forward = Self.randomKey(&generator)
                var reverse = forward.reversed
                reverse.sourcePort = .random(in: 0...65535, using: &generator)
                guard keys[forward] == nil, keys[reverse] == nil, forward != reverse else { continue }
                switch table.insert(forward: forward, reverse: reverse) {
                case .success(let index):
                    #expect(reference[index] == nil)
                    reference[index] = (forward, reverse)
                    keys[forward] = (index, .forward)
                    keys[reverse] = (index, .reverse)
                case .failure(let failure):
                    #expect(reference.count == table.capacity || failure == .bucketsFull)
                    #expect(failure == .full, "buckets must not fill before sessions at this load")
                }
            case 5..<8:
                let key = Bool.random(using: &generator) ? Self.randomKey(&generator) : (keys.keys.randomElement(using: &generator) ?? Self.randomKey(&generator))
                let found = table.lookup(key)
                #expect(found?.session == keys[key]?.0 && found?.direction == keys[key]?.1)
            default:
                guard let index = reference.keys.randomElement(using: &generator) else { continue }
                let (forward, reverse) = reference.removeValue(forKey: index)!
                keys[forward] = nil
                keys[reverse] = nil
                table.remove(index)
                #expect(table.lookup(forward) == nil && table.lookup(reverse) == nil)
            }
            #expect(table.count == reference.count)
        }
    }

    @Test func fullTableRefusesWithoutEvicting() {
        let table = FlowTable(capacity: 64, seed: 1)
        var generator = SeededGenerator(seed: 3)
        var stored: [FlowKey] = []
        while stored.count < 64 {
            let key = Self.randomKey(&generator)
            if table.lookup(key) == nil, table.lookup(key.reversed) == nil,
               case .success = table.insert(forward: key, reverse: key.reversed) { stored.append(key) }
        }
        let extra = FlowKey(source: IPv4Address(1), destination: IPv4Address(2), sourcePort: 3, destinationPort: 4, proto: .tcp)
        guard case .failure(.full) = table.insert(forward: extra, reverse: extra.reversed) else {
            Issue.record("a full table took another session")
            return
        }
        #expect(stored.allSatisfy { table.lookup($0) != nil }, "no established session was evicted")
    }

    /// Three cache lines: a lookup's confirmation and the fast path touch at most these.
    @Test func aSessionIsThreeCacheLines() {
        #expect(MemoryLayout<Session>.stride == 192)
        #expect(MemoryLayout<TargetIndex>.size == 4 && MemoryLayout<NodeNumber>.size == 2)
    }

    @Test func oneMillionSessionsFitIn256MB() {
        let bytes = FlowTable.memoryFootprint(capacity: 1_000_000)
        #expect(bytes < 256 << 20, "\(bytes) bytes")
    }
}

@Suite("Longest-prefix match")
struct RouteTrieTests {
    /// Random prefix sets against a linear scan for the longest match.
    @Test func ipv4MatchesALinearScan() {
        var generator = SeededGenerator(seed: 1812)
        for _ in 0..<50 {
            let trie = RouteTrie(addressBytes: 4)
            var prefixes: [(IPv4Prefix, Int32)] = []
            for value in 0..<Int32.random(in: 1...60, using: &generator) {
                // Addresses from a small space so that prefixes nest and overlap.
                let address = IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator) & 0xC0F0_F0F0)
                let prefix = IPv4Prefix(containing: address, length: Int.random(in: 0...32, using: &generator))
                if prefixes.contains(where: { $0.0 == prefix }) { continue }
                prefixes.append((prefix, value))
                trie.insert(prefix, value: value)
            }
            for _ in 0..<2000 {
                let address = IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator) & 0xC0F0_F0F3)
                let expected = prefixes.filter { $0.0.contains(address) }.max { $0.0.length < $1.0.length }?.1
                #expect(trie.lookup(address) == expected, "\(address)")
            }
        }
    }

    @Test func ipv6MatchesALinearScan() {
        var generator = SeededGenerator(seed: 4291)
        for _ in 0..<30 {
            let trie = RouteTrie(addressBytes: 16)
            var prefixes: [(IPv6Prefix, Int32)] = []
            for value in 0..<Int32.random(in: 1...40, using: &generator) {
                let address = IPv6Address(high: UInt64.random(in: 0...UInt64.max, using: &generator) & 0xFD00_0F00_0000_F0F0,
                                          low: UInt64.random(in: 0...3, using: &generator))
                let prefix = IPv6Prefix(containing: address, length: Int.random(in: 0...128, using: &generator))
                if prefixes.contains(where: { $0.0 == prefix }) { continue }
                prefixes.append((prefix, value))
                trie.insert(prefix, value: value)
            }
            for _ in 0..<1000 {
                let address = IPv6Address(high: UInt64.random(in: 0...UInt64.max, using: &generator) & 0xFD00_0F00_0000_F0F0,
                                          low: UInt64.random(in: 0...3, using: &generator))
                let expected = prefixes.filter { $0.0.contains(address) }.max { $0.0.length < $1.0.length }?.1
                #expect(trie.lookup(address) == expected)
            }
        }
    }

    @Test func laterInsertWinsAtEqualLength() {
        let trie = RouteTrie(addressBytes: 4)
        trie.insert(IPv4Prefix("52.216.0.0/15")!, value: 1)
        trie.insert(IPv4Prefix("52.216.0.0/15")!, value: 2)
        trie.insert(IPv4Prefix("0.0.0.0/0")!, value: 0)
        #expect(trie.lookup(IPv4Address(52, 217, 1, 1)) == 2)
        #expect(trie.lookup(IPv4Address(8, 8, 8, 8)) == 0)
    }
}

@Suite("Maglev")
struct MaglevTests {
    static func keys(_ count: Int) -> [UInt64] { (0..<count).map { FlowHash.finalize(UInt64($0) &+ 77) } }

    /// With equal weights, the most and the least loaded backends differ by at most one slot.
    @Test(arguments: [1, 2, 3, 5, 10, 33, 100])
    func balance(_ count: Int) {
        let table = MaglevTable(backendKeys: Self.keys(count))
        let counts = table.slotCounts
        #expect(counts.reduce(0, +) == table.size)
        #expect(counts.max()! - counts.min()! <= 1, "\(counts)")
    }

    /// Removing one backend moves its own slots, and only a few others.
    @Test(arguments: [5, 10, 20])
    func disruption(_ count: Int) {
        let keys = Self.keys(count)
        let before = MaglevTable(backendKeys: keys)
        let removed = count / 2
        let after = MaglevTable(backendKeys: keys.enumerated().filter { $0.offset != removed }.map(\.element))
        #expect(before.size == after.size)
        let old = before.assignment.map { keys[$0] }
        let new = after.assignment.map { keys.enumerated().filter { $0.offset != removed }.map(\.element)[$0] }
        var movedOthers = 0
        for slot in 0..<before.size where old[slot] != keys[removed] && old[slot] != new[slot] { movedOthers += 1 }
        // The paper reports a few percent of other slots move on one removal.
        #expect(Double(movedOthers) / Double(before.size) < 0.06, "\(movedOthers) of \(before.size) slots of other backends moved")
        #expect(after.backendCount == count - 1)
    }

    @Test func emptyTableChoosesNothing() {
        #expect(MaglevTable(backendKeys: []).backend(for: 12345) == nil)
    }
}

@Suite("Port allocation")
struct PortAllocatorTests {
    @Test func allocatesEveryPortOnceThenRefuses() {
        let ports = PortAllocators(poolCount: 2, portsPerPool: 100)
        var seen = Set<UInt16>()
        for _ in 0..<100 {
            let port = ports.allocate(pool: 1)
            #expect(port != nil)
            #expect(seen.insert(port!).inserted)
        }
        #expect(ports.allocate(pool: 1) == nil, "exhausted")
        #expect(ports.allocate(pool: 0) != nil, "pools are independent")
        ports.release(pool: 1, port: seen.first!)
        #expect(ports.allocate(pool: 1) == seen.first!)
        #expect(seen.allSatisfy { $0 >= PortAllocators.firstPort && $0 < PortAllocators.firstPort + 100 })
    }

    /// A connection that closes and a new one to the same target must not share a source port
    /// at once: the target may hold the old four-tuple in TIME-WAIT.
    @Test func releasedPortComesBackOnlyAfterTheOthers() {
        let ports = PortAllocators(poolCount: 1, portsPerPool: 100)
        let first = ports.allocate(pool: 0)!
        ports.release(pool: 0, port: first)
        var handedOut: [UInt16] = []
        for _ in 0..<99 {
            let port = ports.allocate(pool: 0)!
            handedOut.append(port)
            ports.release(pool: 0, port: port)
        }
        #expect(!handedOut.contains(first))
        #expect(Set(handedOut).count == 99)
        #expect(ports.allocate(pool: 0) == first, "after a full turn")
    }

    @Test func fullSizePoolHolds55000() {
        let ports = PortAllocators(poolCount: 1)
        var count = 0
        while ports.allocate(pool: 0) != nil { count += 1 }
        #expect(count == 55_000)
    }
}

@Suite("TCP tracking")
struct TCPTrackTests {
    @Test func handshakeDataAndClose() {
        var state = TCPTrackState.synSent
        state = state.after(0x012, direction: .reverse)
        #expect(state == .synReceived)
        state = state.after(0x010, direction: .forward)
        #expect(state == .established)
        state = state.after(0x011, direction: .forward)
        #expect(state == .finSentForward)
        state = state.after(0x010, direction: .reverse)
        #expect(state == .finSentForward)
        state = state.after(0x011, direction: .reverse)
        #expect(state == .closed)
        #expect(TCPTrackState.established.after(0x004, direction: .reverse) == .closed)
    }
}

// For the dictionary oracle only: the dataplane itself never hashes with Swift's Hasher.
extension FlowKey: Hashable {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(sourceHigh)
        hasher.combine(sourceLow)
        hasher.combine(destinationHigh)
        hasher.combine(destinationLow)
        hasher.combine(sourcePort)
        hasher.combine(destinationPort)
        hasher.combine(proto)
        hasher.combine(family)
    }
}
