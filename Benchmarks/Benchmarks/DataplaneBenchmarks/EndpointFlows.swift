import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

/// The default topology and its tables, built once.
nonisolated(unsafe) let defaultTopology = Topology.load(yaml: Topology.defaultYAML).topology!
nonisolated(unsafe) let defaultTables = defaultTopology.forwardingTables()

/// The default topology's dataplane with connections open through the web endpoint: consumer →
/// endpoint ENI → NLB node → target. Connections alternate between client-a (zone a) and client-b
/// (zone b), so each NLB node's pool of 55,000 ports towards its zone's target holds half; each
/// is opened with a full handshake (SYN, the target's SYN-ACK, the client's ACK), so that it is
/// established, not half-open.
final class EndpointFlows {
    let harness: Harness
    /// Per open connection: a data segment from the client and one from the target back, as
    /// sent (before any translation), with the port each enters by and the verdict each must get.
    private(set) var forward: [(bytes: [UInt8], port: Int, expected: Verdict)] = []
    private(set) var replies: [(bytes: [UInt8], port: Int, expected: Verdict)] = []

    struct Client {
        let address: IPv4Address
        let port: Int
        let endpoint: IPv4Address
    }
    static let clients: [Client] = {
        func host(_ name: String) -> NetworkInterface {
            guard case .vpc(let eni) = defaultTopology.hosts.first(where: { $0.name == name })!.placement else { fatalError() }
            return defaultTopology[eni]
        }
        return [("client-a", 0), ("client-b", 1)].map { name, zone in
            let endpoint = defaultTopology.endpoints[0].interfaces.map { defaultTopology[$0] }
                .first { defaultTopology[$0.subnet].zone.index == zone }!
            return Client(address: host(name).ipv4!, port: defaultTables.ports.firstIndex { $0.name == name }!,
                          endpoint: endpoint.ipv4!)
        }
    }()

    /// Connection `number`'s client and source port: numbers never repeat a flow.
    static func connection(_ number: Int) -> (client: Client, port: UInt16) {
        (clients[number % 2], UInt16(1024 + number / 2))
    }

    init(sessions: Int, flowCapacity: Int) {
        harness = Harness(flowCapacity: flowCapacity, slot: 128, headroom: 0)
        let batch = harness.batch
        var opened = 0
        while opened < sessions {
            let count = min(PacketBatch.capacity, sessions - opened)
            harness.send((opened..<(opened + count)).map { EndpointFlows.syn($0) })
            // The SYN as the target got it: the way back is from its destination to its source.
            var translated: [(packet: [UInt8], port: Int)] = []
            for index in 0..<count {
                guard let port = batch.verdicts[index].port else { fatalError("connection \(opened + index) refused") }
                translated.append((Array(batch.bytes(index)), port))
            }
            harness.send((0..<count).map { index in
                (EndpointFlows.answer(translated[index].packet, [.syn, .ack], ack: EndpointFlows.isn(opened + index) &+ 1),
                 translated[index].port)
            })
            harness.send((opened..<(opened + count)).map { number in
                let (client, port) = EndpointFlows.connection(number)
                return (Packets.tcp(client.address, port, client.endpoint, 80, .ack, seq: EndpointFlows.isn(number) &+ 1, ack: 1),
                        client.port)
            })
            for (index, syn) in translated.enumerated() {
                let (client, port) = EndpointFlows.connection(opened + index)
                let sequence = EndpointFlows.isn(opened + index) &+ 1
                forward.append((Packets.tcp(client.address, port, client.endpoint, 80, .ack, seq: sequence, ack: 1, payload: 24),
                                client.port, .forwarded(syn.port)))
                replies.append((EndpointFlows.answer(syn.packet, .ack, seq: 1, ack: sequence, payload: 24), syn.port,
                                .forwarded(client.port)))
            }
            opened += count
        }
        precondition(harness.dataplane.flows.count == sessions && harness.dataplane.counters.totalDrops == 0,
                     "every connection opened")
    }

    /// Connection `number`'s initial sequence number: they vary, as the NLB's choice hashes it.
    static func isn(_ number: Int) -> UInt32 { UInt32(truncatingIfNeeded: number &* 2_654_435_761) }

    /// Connection `number`'s SYN.
    static func syn(_ number: Int) -> (bytes: [UInt8], port: Int) {
        let (client, port) = connection(number)
        return (Packets.tcp(client.address, port, client.endpoint, 80, .syn, seq: isn(number)), client.port)
    }

    /// A segment back along `packet`'s flow: from its destination to its source.
    static func answer(_ packet: [UInt8], _ flags: TCPFlags, seq: UInt32 = 0, ack: UInt32, payload: Int = 0) -> [UInt8] {
        func address(_ offset: Int) -> IPv4Address {
            IPv4Address(packet[offset], packet[offset + 1], packet[offset + 2], packet[offset + 3])
        }
        let sourcePort = UInt16(packet[20]) << 8 | UInt16(packet[21])
        let destinationPort = UInt16(packet[22]) << 8 | UInt16(packet[23])
        return Packets.tcp(address(16), destinationPort, address(12), sourcePort, flags, seq: seq, ack: ack, payload: payload)
    }
}
