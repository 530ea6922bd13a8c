import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

// Sessions that end with no packet to end them, and who gives way when room runs out
// (docs/aws-behaviour.md §1: the NLB keeps no half-open connections; a target must answer within 30
// s).

@Suite("Expiry and giving way")
struct ExpiryTests {
    static let second: Int64 = 1_000_000_000

    /// A SYN that is never answered holds its session (and its source port) for the handshake
    /// window only; a retransmission within it keeps the flow on its target. With no traffic at
    /// all, a caller's timer ends it.
    @Test func halfOpenSessionsLastTheHandshakeWindow() {
        let h = Harness()
        let first = EndpointPathTests.open(h, at: 0).0
        let again = EndpointPathTests.open(h, at: 29).0
        #expect(again.port == first.port && Seen(again.bytes).sourcePort == Seen(first.bytes).sourcePort, "the same flow")
        #expect(h.dataplane.flows.count == 1)
        h.dataplane.expire(now: 30 * Self.second)
        #expect(h.dataplane.flows.count == 1, "30 s is within the window")
        h.dataplane.expire(now: 31 * Self.second)
        #expect(h.dataplane.flows.count == 0, "gone, with no packet to end it")
        #expect(h.dataplane.counters.sessionsExpired == 1)
    }

    /// An established connection keeps the listener's idle timeout (350 s), not the window.
    @Test func establishedSessionsKeepTheIdleTimeout() {
        let h = Harness()
        EndpointPathTests.establish(h)
        h.dataplane.expire(now: 300 * Self.second)
        #expect(h.dataplane.flows.count == 1)
        // Ticks of a timer: the sweep visits the whole table within its period (10 s).
        var time = 350 * Self.second
        while time <= 362 * Self.second {
            h.dataplane.expire(now: time)
            time += Self.second / 10
        }
        #expect(h.dataplane.flows.count == 0)
        #expect(h.dataplane.counters.sessionsExpired == 1)
    }

    /// A flood of SYNs that are never answered, from one client, on a pool of 8 ports: each new
    /// connection takes the port of the oldest half-open one. Another client's connection gets
    /// through, established ones keep theirs, and nothing is refused for want of a port.
    @Test func halfOpenFloodGivesWayToNewConnections() {
        let h = Harness(yaml: secondClientYAML) { $0.portsPerPool = 8 }
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let established = (0..<3).map { EndpointPathTests.establish(h, sourcePort: UInt16(30000 + $0)) }
        for index in 0..<200 {
            let syn = h.send(Packets.tcp(h.ipv4("client-a"), UInt16(40000 + index), endpoint, 80, .syn), from: h.port("client-a"),
                             at: 1 + Double(index) / 1000)
            #expect(syn.port == h.port("web-a"))
        }
        #expect(h.dataplane.counters.drops(.portExhausted) == 0)
        #expect(h.dataplane.counters.sessionsEvicted == 195, "5 ports for the flood; each SYN past them takes the oldest's")
        let other = EndpointPathTests.establish(h, client: "client-a2", sourcePort: 50000, at: 2)
        #expect(!established.contains(other))
        for (index, natPort) in established.enumerated() {
            let data = h.send(Packets.tcp(h.ipv4("client-a"), UInt16(30000 + index), endpoint, 80, [.psh, .ack], seq: 1001, ack: 1,
                                          payload: 10), from: h.port("client-a"), at: 2)
            #expect(data.port == h.port("web-a") && Seen(data.bytes).sourcePort == natPort, "an established flow keeps its port")
        }
    }

    /// A full flow table: a closed session gives way first, then the oldest half-open one; with
    /// only established sessions, the new flow is refused.
    @Test func aFullTableEndsClosedThenHalfOpenSessions() {
        let h = Harness { $0.flowCapacity = 4 }
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        EndpointPathTests.establish(h, sourcePort: 30000)
        EndpointPathTests.establish(h, sourcePort: 30001)
        _ = EndpointPathTests.open(h, sourcePort: 40000, at: 1)
        // The second established connection is reset by its client: closed, lingering.
        #expect(h.send(Packets.tcp(h.ipv4("client-a"), 30001, endpoint, 80, .rst, seq: 1001), from: h.port("client-a"), at: 1).port != nil)
        _ = EndpointPathTests.open(h, sourcePort: 40001, at: 1)
        #expect(h.dataplane.flows.count == 4)
        #expect(EndpointPathTests.open(h, sourcePort: 40002, at: 1).0.port != nil, "the closed session gave way")
        #expect(EndpointPathTests.open(h, sourcePort: 40003, at: 1).0.port != nil, "the oldest half-open gave way")
        let retransmitted = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .syn), from: h.port("client-a"), at: 1)
        #expect(retransmitted.port != nil && h.dataplane.counters.sessionsEvicted == 3, "40000 was the oldest: it comes back new, ending 40001")
        #expect(h.dataplane.counters.sessionsEvicted == 3)
        let ack = h.send(Packets.tcp(h.ipv4("client-a"), 30000, endpoint, 80, .ack, seq: 1001, ack: 1), from: h.port("client-a"), at: 1)
        #expect(ack.port == h.port("web-a"), "the established one stayed")
    }

    /// Expiry keeps up with new flows: 1,500 unanswered SYNs a second for five minutes through a
    /// table of 64k sessions (450,000 flows in all, seven tables' worth), each ended 30 s after it
    /// came, so that the table never fills and none is refused.
    @Test func expiryKeepsUpWithAFlood() {
        let h = Harness { $0.flowCapacity = 1 << 16 }
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let batch = PacketBatch()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256 * 64, alignment: 64)
        defer { buffer.deallocate() }
        var template = Packets.tcp(h.ipv4("client-a"), 0, endpoint, 80, .syn)
        let rate = 1500, seconds = 300
        var sent = 0
        for round in 0..<(rate * seconds / 256) {
            batch.removeAll()
            for index in 0..<256 {
                // A new source port for each SYN (the TCP checksum is not the fabric's to check).
                let port = UInt16(1024 + sent % 64000)
                template[20] = UInt8(port >> 8)
                template[21] = UInt8(port & 0xFF)
                template.withUnsafeBytes { (buffer + index * 64).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                batch.append(buffer + index * 64, length: template.count, capacity: 64, ingressPort: h.port("client-a"))
                sent += 1
            }
            h.dataplane.process(batch, now: Int64(round) * 256 * Self.second / Int64(rate))
        }
        let counters = h.dataplane.counters
        #expect(counters.totalDrops == 0, "none refused: \(DropReason.allCases.filter { counters.drops($0) > 0 }.map(\.name))")
        #expect(counters.sessionsEvicted == 0, "the flow table never filled: expiry kept up")
        #expect(h.dataplane.flows.count <= 31 * rate)
        #expect(counters.sessionsExpired + UInt64(h.dataplane.flows.count) == UInt64(sent))
    }
}
