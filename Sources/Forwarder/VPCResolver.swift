import Dataplane
import PacketWire
import Topology

/// The Amazon-provided resolver of each VPC (CIDR base + 2): the dataplane sends it the UDP
/// queries addressed to it, and it answers from the VPC's split-horizon view (aws-behaviour.md
/// §8). A malformed query gets FORMERR; one too short to carry an ID gets nothing, and is counted.
public struct VPCResolver: Sendable {
    public let view: DNSView
    public private(set) var answered: UInt64 = 0
    public private(set) var malformed: UInt64 = 0

    public init(_ topology: Topology) { view = DNSView(topology) }

    /// The reply to the query `packet` (an IPv4 UDP datagram) asked in `vpc`, as a whole IP
    /// packet back to the asker; nil when nothing can be answered.
    public mutating func answer(_ packet: UnsafeMutableRawBufferPointer, vpc: Int) -> [UInt8]? {
        guard let ip = try? IPv4Packet(packet), let udp = try? UDPDatagram(ip.payload) else {
            malformed &+= 1
            return nil
        }
        let message: [UInt8]
        switch DNSMessage.query(UnsafeRawBufferPointer(udp.payload)) {
        case .success(let query):
            message = response(to: query, vpc: vpc)
        case .failure(let failure):
            malformed &+= 1
            guard let id = failure.id else { return nil }
            message = DNSMessage.formatError(id: id)
        }
        answered &+= 1
        return PacketBuilder.ipv4Packet(IPv4Fields(source: ip.destination, destination: ip.source),
                                        .udp(UDPFields(sourcePort: udp.destinationPort, destinationPort: udp.sourcePort)),
                                        payload: message)
    }

    func response(to query: DNSQuery, vpc: Int) -> [UInt8] {
        guard query.questionClass == DNSRecordCode.classIN else {
            return DNSMessage.response(to: query, code: .notImplemented, answers: [])
        }
        let type: DNSRecordType
        switch query.type {
        case DNSRecordCode.a: type = .a
        case DNSRecordCode.aaaa: type = .aaaa
        case DNSRecordCode.txt: type = .txt
        case DNSRecordCode.cname: type = .cname
        default:
            // A type Privet holds no records of: the name exists or it does not.
            let exists = view.resolve(query.name, type: .a, from: vpc) != .nxdomain
            return DNSMessage.response(to: query, code: exists ? .noError : .nameError, answers: [])
        }
        switch view.resolve(query.name, type: type, from: vpc) {
        case .ipv4(let addresses): return DNSMessage.response(to: query, code: .noError, answers: addresses.map { .ipv4($0) })
        case .ipv6(let addresses): return DNSMessage.response(to: query, code: .noError, answers: addresses.map { .ipv6($0) })
        case .text(let texts): return DNSMessage.response(to: query, code: .noError, answers: texts.map { .text($0) })
        case .alias(let name): return DNSMessage.response(to: query, code: .noError, answers: [.alias(name)])
        case .noData: return DNSMessage.response(to: query, code: .noError, answers: [])
        case .nxdomain: return DNSMessage.response(to: query, code: .nameError, answers: [])
        }
    }
}
