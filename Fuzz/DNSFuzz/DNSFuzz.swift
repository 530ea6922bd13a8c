// libFuzzer target for DNS: arbitrary bytes as the payload of a UDP query to a VPC resolver of the
// default topology (parsed, resolved in the VPC's split-horizon view, answered), and as a
// response read by the demo's stub. Built and run by scripts/fuzz.sh.
import Forwarder
import PacketWire
import Topology

nonisolated(unsafe) var resolver = VPCResolver(Topology.load(yaml: Topology.defaultYAML).topology!)

func dnsFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let message = Array(UnsafeBufferPointer(start: data, count: size))
    _ = DNSMessage.addresses(inResponse: message)
    // The query as a client in the consumer VPC (index 1) sends it to the resolver (10.20.0.2).
    guard size <= 65_000 else { return 0 }
    var packet = PacketBuilder.ipv4Packet(IPv4Fields(source: IPv4Address(10, 20, 1, 4), destination: IPv4Address(10, 20, 0, 2)),
                                          .udp(UDPFields(sourcePort: 40000, destinationPort: 53)), payload: message)
    for vpc in 0..<2 {
        _ = packet.withUnsafeMutableBytes { resolver.answer($0, vpc: vpc) }
    }
    return 0
}
