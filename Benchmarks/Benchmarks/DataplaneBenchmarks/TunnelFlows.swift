import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

/// The default topology's dataplane with flows from client-a to the internet through the GWLB
/// endpoint, each tunnelled to its appliance and back. Each flow is opened with a full handshake,
/// every segment of it through the appliance both ways (into the tunnel, the appliance's return
/// out of it), so that it is established.
final class TunnelFlows {
    let harness: Harness
    /// Per flow: the client's data segment and the internet server's, into the tunnel.
    private(set) var into: [(bytes: [UInt8], port: Int, expected: Verdict)] = []
    /// Per flow: the same two segments as their appliance returns them, out of the tunnel.
    private(set) var outOf: [(bytes: [UInt8], port: Int, expected: Verdict)] = []

    init(flows: Int) {
        harness = Harness(flowCapacity: 4 * flows, slot: 256, headroom: 96)
        let topology = defaultTopology, tables = defaultTables
        guard case .vpc(let eni) = topology.hosts.first(where: { $0.name == "client-a" })!.placement else { fatalError() }
        let client = topology[eni].ipv4!, internet = IPv4Address(198, 51, 100, 10)
        let clientPort = tables.ports.firstIndex { $0.name == "client-a" }!
        let gateway = tables.ports.firstIndex { $0.name == "igw-consumer" }!
        let server = tables.portMap.outsideHosts.firstIndex { $0.name == "internet-server" }
        var opened = 0
        while opened < flows {
            let numbers = opened..<min(opened + PacketBatch.capacity / 2, flows)
            func clientSegment(_ number: Int, _ flags: TCPFlags, payload: Int = 0) -> (bytes: [UInt8], port: Int) {
                (Packets.tcp(client, UInt16(1024 + number), internet, 80, flags, seq: flags.contains(.syn) ? 0 : 1,
                                   ack: flags.contains(.syn) ? 0 : 1, payload: payload), clientPort)
            }
            func serverSegment(_ number: Int, _ flags: TCPFlags, payload: Int = 0) -> (bytes: [UInt8], port: Int) {
                (Packets.tcp(internet, 80, client, UInt16(1024 + number), flags, seq: flags.contains(.syn) ? 0 : 1, ack: 1,
                                   payload: payload), gateway)
            }
            passThrough(numbers.map { clientSegment($0, .syn) })
            passThrough(numbers.map { serverSegment($0, [.syn, .ack]) })
            passThrough(numbers.map { clientSegment($0, .ack) })
            // The data segments: kept as sent and, tunnelled, as their appliance returns them.
            let segments = numbers.flatMap { [clientSegment($0, .ack, payload: 24), serverSegment($0, .ack, payload: 24)] }
            let tunnelled = passThrough(segments)
            for (index, segment) in segments.enumerated() {
                into.append((segment.bytes, segment.port, .encapsulated(tunnelled[index].appliance)))
                outOf.append((tunnelled[index].returned, tunnelled[index].appliance,
                              segment.port == clientPort ? .decapsulated(gateway, outsideHost: server) : .decapsulated(clientPort)))
            }
            opened = numbers.upperBound
        }
        precondition(harness.dataplane.flows.count == flows && harness.dataplane.counters.totalDrops == 0, "every flow opened")
    }

    /// Sends the segments into the tunnel, then what their appliances return (the same bytes,
    /// outer addresses swapped); gives back each one's appliance port and returned bytes.
    @discardableResult
    private func passThrough(_ segments: [(bytes: [UInt8], port: Int)]) -> [(appliance: Int, returned: [UInt8])] {
        harness.send(segments)
        var returned: [(appliance: Int, returned: [UInt8])] = []
        for index in 0..<segments.count {
            guard let port = harness.batch.verdicts[index].port else { fatalError("segment \(index) not tunnelled") }
            var bytes = Array(harness.batch.bytes(index))
            for offset in 12..<16 { bytes.swapAt(offset, offset + 4) }
            returned.append((port, bytes))
        }
        harness.send(returned.map { ($0.returned, $0.appliance) })
        return returned
    }
}
