import AllocationCounter
import Testing
import Dataplane
import PacketWire
import Topology

/// The hot path allocates nothing (docs/ARCHITECTURE.md): a million packets through the dataplane, counted
/// by malloc itself.
@Suite("Allocations")
struct AllocationTests {
    /// The counter does count: one array allocation is seen.
    @Test func theCounterCounts() {
        allocation_counter_start()
        let array = [Int](repeating: 7, count: 1000 + Int.random(in: 0...1))
        let count = allocation_counter_stop()
        #expect(array.count > 999)
        #expect(count >= 1)
    }

    @Test func aMillionForwardedPacketsAllocateNothing() {
        let h = Harness { $0.flowCapacity = 4096 }
        let client = h.ipv4("client-a")
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!
        // 64 connections through the endpoint, opened before counting (new flows build state).
        var natPorts: [UInt16] = []
        for index in 0..<64 {
            let syn = h.send(Harness.tcp(client, UInt16(30000 + index), endpoint, 80, .syn), from: h.port("client-a"))
            natPorts.append(Seen(syn.bytes).sourcePort)
        }
        // A batch of 256 packets: both directions of every connection, kept in our own buffers.
        let slot = 128
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: slot * 256, alignment: 64)
        defer { buffer.deallocate() }
        var templates: [([UInt8], Int)] = []
        for index in 0..<128 {
            let connection = index % 64
            if index % 2 == 0 {
                templates.append((Harness.tcp(client, UInt16(30000 + connection), endpoint, 80, .ack, seq: 1001, ack: 1, payload: 24),
                                  h.port("client-a")))
            } else {
                templates.append((Harness.tcp(h.ipv4("web-a"), 80, node, natPorts[connection], .ack, seq: 1, ack: 1001, payload: 24),
                                  h.port("web-a")))
            }
        }
        let batch = PacketBatch()
        func fill() {
            batch.removeAll()
            for index in 0..<256 {
                let (bytes, port) = templates[index % 128]
                let start = buffer + index * slot
                bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                batch.append(start, length: bytes.count, capacity: slot, ingressPort: port)
            }
        }
        fill()
        h.dataplane.process(batch, now: 1_000_000_000)
        allocation_counter_start()
        var time: Int64 = 1_000_000_000
        var forwarded = 0
        for _ in 0..<(1_000_000 / 256 + 1) {
            // Refilling copies bytes into the same buffers: no allocation either.
            for index in 0..<256 {
                let (bytes, _) = templates[index % 128]
                bytes.withUnsafeBytes { (buffer + index * slot).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                batch.lengths[index] = bytes.count
            }
            time += 1_000_000
            h.dataplane.process(batch, now: time)
            for index in 0..<256 where !batch.verdicts[index].isDrop { forwarded += 1 }
        }
        let allocations = allocation_counter_stop()
        #expect(forwarded >= 1_000_000, "every packet forwarded")
        #expect(allocations == 0, "\(allocations) allocations over \(forwarded) packets")
    }
}

/// 2048 SYNs from client-a to the web endpoint, made before counting starts, sent in 8 batches
/// of 256 through one buffer allocated up front.
final class SYNRounds {
    let templates: [[UInt8]]
    let batch = PacketBatch()
    let slot = 128
    let buffer: UnsafeMutableRawPointer
    let clientPort: Int

    init(_ h: Harness) {
        let client = h.ipv4("client-a")
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        templates = (0..<2048).map { Harness.tcp(client, UInt16(20000 + $0), endpoint, 80, .syn, seq: UInt32($0)) }
        buffer = .allocate(byteCount: slot * 256, alignment: 64)
        clientPort = h.port("client-a")
        // Warm up once: a first call may build lazily initialised globals.
        _ = h.send(Harness.tcp(client, 19999, endpoint, 80, .syn), from: clientPort)
    }

    deinit { buffer.deallocate() }

    /// Sends the rounds `gap` nanoseconds apart, draining the flow records after each when
    /// asked; returns how many SYNs were forwarded.
    func send(_ h: Harness, gap: Int64, drain: Bool) -> Int {
        var forwarded = 0
        for round in 0..<8 {
            batch.removeAll()
            for index in 0..<256 {
                let bytes = templates[round * 256 + index]
                bytes.withUnsafeBytes { (buffer + index * slot).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                batch.append(buffer + index * slot, length: bytes.count, capacity: slot, ingressPort: clientPort)
            }
            h.dataplane.process(batch, now: Int64(round) * gap)
            for index in 0..<256 where !batch.verdicts[index].isDrop { forwarded += 1 }
            if drain { h.dataplane.flowRecords.drain { _ in } }
        }
        return forwarded
    }
}

extension AllocationTests {
    /// New flows too: the NLB's choice, the source port, the session, the translation; and the
    /// sweep that expires them.
    @Test func newFlowsAndExpiryAllocateNothing() {
        let h = Harness { $0.flowCapacity = 8192 }
        let rounds = SYNRounds(h)
        allocation_counter_start()
        let forwarded = rounds.send(h, gap: 1_000_000_000, drain: false)
        // Everything idles out: the sweep ends every session and records its flow log.
        var records = 0
        h.dataplane.endAllSessions(now: 10_000 * 1_000_000_000) { _ in records += 1 }
        let allocations = allocation_counter_stop()
        #expect(forwarded == 2048)
        #expect(records == 2049 * 4, "one direction each, at four ENIs (client, endpoint, NLB node, target): none lost")
        #expect(allocations == 0, "\(allocations) allocations for 2048 new flows")
    }

    /// Half-open sessions giving way (a pool of 64 ports under 2048 SYNs), and the queues and
    /// sweep that expire them with no packets (a timer's ticks).
    @Test func givingWayAndTimerExpiryAllocateNothing() {
        let h = Harness { $0.flowCapacity = 1024; $0.portsPerPool = 64 }
        let rounds = SYNRounds(h)
        allocation_counter_start()
        let forwarded = rounds.send(h, gap: 1_000_000, drain: true)
        for tick in 0..<100 {
            h.dataplane.expire(now: 30_000_000_000 + Int64(tick) * 20_000_000)
            h.dataplane.flowRecords.drain { _ in }
        }
        let allocations = allocation_counter_stop()
        #expect(forwarded == 2048)
        #expect(h.dataplane.counters.sessionsEvicted == 2048 + 1 - 64)
        #expect(h.dataplane.flows.count == 0, "every half-open session gone after the window")
        #expect(allocations == 0, "\(allocations) allocations")
    }
}

extension AllocationTests {
    /// The GWLB path: both directions of established flows into the tunnel, and both returns
    /// out of it, decapsulated; new flows and their choice of appliance included.
    @Test func tunnelledPacketsAllocateNothing() {
        let h = Harness { $0.flowCapacity = 4096 }
        let client = h.ipv4("client-a")
        let internet = IPv4Address(198, 51, 100, 10)
        let appliance = h.port("appliance-a")
        // 64 connections opened before counting; what each direction looks like in the tunnel.
        var templates: [([UInt8], Int)] = []
        for index in 0..<64 {
            let port = UInt16(30000 + index)
            let syn = h.send(Harness.tcp(client, port, internet, 80, .syn), from: h.port("client-a"))
            let reply = h.send(Harness.tcp(internet, 80, client, port, [.syn, .ack], ack: 1001), from: h.port("igw-consumer"))
            templates.append((Harness.tcp(client, port, internet, 80, .ack, seq: 1001, ack: 1, payload: 24), h.port("client-a")))
            templates.append((Tunnelled.returned(syn.bytes), appliance))
            templates.append((Harness.tcp(internet, 80, client, port, .ack, seq: 1, ack: 1001, payload: 24), h.port("igw-consumer")))
            templates.append((Tunnelled.returned(reply.bytes), appliance))
        }
        let slot = 256, headroom = 96
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: slot * 256, alignment: 64)
        defer { buffer.deallocate() }
        let batch = PacketBatch()
        func fill(_ round: Int) {
            batch.removeAll()
            for index in 0..<256 {
                let (bytes, port) = templates[(round * 256 + index) % templates.count]
                let start = buffer + index * slot + headroom
                bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                batch.append(start, length: bytes.count, capacity: slot - headroom, ingressPort: port, headroom: headroom)
            }
        }
        fill(0)
        h.dataplane.process(batch, now: 1_000_000_000)
        var newFlows = (0..<256).map { Harness.udp(client, UInt16(50000 + $0), internet, 53) }
        let clientPort = h.port("client-a")
        allocation_counter_start()
        var time: Int64 = 1_000_000_000
        var forwarded = 0
        for round in 0..<(1_000_000 / 256 + 1) {
            fill(round)
            time += 1_000_000
            h.dataplane.process(batch, now: time)
            for index in 0..<256 where !batch.verdicts[index].isDrop { forwarded += 1 }
        }
        batch.removeAll()
        for index in 0..<256 {
            let start = buffer + index * slot + headroom
            let bytes = newFlows[index]
            bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            batch.append(start, length: bytes.count, capacity: slot - headroom, ingressPort: clientPort, headroom: headroom)
        }
        h.dataplane.process(batch, now: time + 1)
        for index in 0..<256 where batch.verdicts[index].port == appliance { forwarded += 1 }
        let allocations = allocation_counter_stop()
        newFlows.removeAll()
        #expect(forwarded >= 1_000_000 + 256, "every packet forwarded")
        #expect(allocations == 0, "\(allocations) allocations over \(forwarded) packets")
    }
}
