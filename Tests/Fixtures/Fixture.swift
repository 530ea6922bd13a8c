import Dataplane
import PacketWire
import Topology

/// One row of the dataplane's specification, in the manner of Katran's test fixtures: in a
/// topology, after some earlier packets, a host sends a packet; the row says what the dataplane
/// must do with it (the verdict) and what must come out (the packet's addresses, ports and
/// flags, its checksums sound). `FixtureTable.rows` holds every row; the dataplane tests run
/// them, the replay tests replay them from a capture, the benchmarks build their packets with the
/// same helpers.
public struct Fixture: Sendable, CustomStringConvertible {
    /// What a packet, sent from a port, is expected to come to.
    public enum Expected: Sendable, Equatable {
        /// Out of the named port (a host's, or an outside network's).
        case forwarded(String)
        /// Into a GWLB tunnel, to the named appliance's port.
        case encapsulated(String)
        /// Out of a GWLB tunnel, on out of the named port.
        case decapsulated(String)
        /// A RST the dataplane wrote, back out of the sender's port.
        case replied(ResetCause)
        case toResolver
        case toHealthChecker
        /// Dropped for the reason, refused at the ENI labelled (`Harness.label`), or at none.
        case dropped(DropReason, at: String?)
    }

    /// What the packet looks like when it leaves: addresses and ports (nil: any, for a port
    /// the NLB chooses) and TCP flags.
    public struct Output: Sendable, Equatable {
        public var source: String
        public var sourcePort: UInt16?
        public var destination: String
        public var destinationPort: UInt16?
        public var flags: TCPFlags?
    }

    /// One packet sent before the judged one, or a change of state.
    public enum Step: Sendable {
        /// `packet` from the port named, given the outcomes so far (the replies of a handshake
        /// answer what came out).
        case send(from: String, packet: @Sendable (Harness, [Harness.Outcome]) -> [UInt8])
        case endpointState(Int, ForwardingTables.EndpointState)
        case targetHealth(String, healthy: Bool)
    }

    public let description: String
    public let yaml: String
    public let configure: @Sendable (inout DataplaneConfiguration) -> Void
    /// What happens first.
    public let before: [Step]
    public let sender: String
    public let packet: @Sendable (Harness, [Harness.Outcome]) -> [UInt8]
    /// The packet's buffer holds it exactly, no byte free in front or behind: nothing can grow it.
    public let tight: Bool
    public let expected: Expected
    public let output: Output?

    public init(_ description: String, yaml: String = Topology.defaultYAML,
                configure: @escaping @Sendable (inout DataplaneConfiguration) -> Void = { _ in }, before: [Step] = [],
                from sender: String, tight: Bool = false, packet: @escaping @Sendable (Harness, [Harness.Outcome]) -> [UInt8],
                expect expected: Expected, output: Output? = nil) {
        self.description = description
        self.yaml = yaml
        self.configure = configure
        self.before = before
        self.sender = sender
        self.packet = packet
        self.tight = tight
        self.expected = expected
        self.output = output
    }

    /// The row run in a dataplane of its own: the outcome of the judged packet, the harness it
    /// ran in, and every packet sent (the judged one last) with the port it was sent from.
    public func run() -> (outcome: Harness.Outcome, harness: Harness, sent: [(packet: [UInt8], port: Int)]) {
        let h = Harness(yaml: yaml, configure: configure)
        var outcomes: [Harness.Outcome] = []
        var sent: [(packet: [UInt8], port: Int)] = []
        var time = 0.0
        for step in before {
            switch step {
            case .send(let sender, let packet):
                let bytes = packet(h, outcomes)
                sent.append((bytes, h.port(sender)))
                outcomes.append(h.send(bytes, from: h.port(sender), at: time))
                time += 0.001
            case .endpointState(let endpoint, let state):
                h.dataplane.setEndpointState(endpoint, state)
            case .targetHealth(let target, let healthy):
                h.dataplane.setTargetHealth(h.target(target), healthy: healthy)
            }
        }
        let bytes = packet(h, outcomes)
        sent.append((bytes, h.port(sender)))
        return (h.send(bytes, from: h.port(sender), at: time, headroom: tight ? 0 : 128, room: tight ? bytes.count : nil), h, sent)
    }

    /// Whether the row is only packets sent (no change of state between them).
    public var isOnlyPackets: Bool {
        before.allSatisfy { if case .send = $0 { true } else { false } }
    }

    /// Whether `outcome` is what the row expects; nil when it is, or what differs.
    public func mismatch(_ outcome: Harness.Outcome, in h: Harness) -> String? {
        let verdict = outcome.verdict
        let got: Expected
        switch verdict.action {
        case .forwarded: got = .forwarded(h.tables.ports[verdict.port!].name)
        case .encapsulated: got = .encapsulated(h.tables.ports[verdict.port!].name)
        case .decapsulated: got = .decapsulated(h.tables.ports[verdict.port!].name)
        case .replied: got = .replied(verdict.resetCause!)
        case .toResolver: got = .toResolver
        case .toHealthChecker: got = .toHealthChecker
        case .dropped: got = .dropped(verdict.dropReason!, at: verdict.interface.map(h.label))
        }
        guard got == expected else { return "expected \(expected), got \(got)" }
        guard let output else { return nil }
        let seen = Seen(outcome.bytes)
        let out = Output(source: seen.source, sourcePort: output.sourcePort == nil ? nil : seen.sourcePort,
                         destination: seen.destination, destinationPort: output.destinationPort == nil ? nil : seen.destinationPort,
                         flags: output.flags == nil ? nil : seen.flags)
        guard out == output else { return "expected the packet out as \(output), got \(out)" }
        guard seen.checksumsValid else { return "the packet out has a wrong checksum" }
        return nil
    }
}

extension Harness {
    /// An ENI as fixtures name it: a host's name, or "web-endpoint us-east-1a", "web-nlb
    /// us-east-1a" for an endpoint's or a load balancer node's ENI in a zone.
    public func label(_ interface: Int) -> String {
        let eni = topology.networkInterfaces[interface]
        let zone = topology.zones[topology[eni.subnet].zone.index].name
        switch eni.owner {
        case .host(let host): return topology[host].name
        case .endpoint(let endpoint): return topology[endpoint].name + " " + zone
        case .loadBalancer(let balancer): return topology[balancer].name + " " + zone
        }
    }
}
