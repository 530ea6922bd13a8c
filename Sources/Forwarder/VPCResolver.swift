import Dataplane
import PacketWire
import Topology

/// The Amazon-provided resolver of each VPC (CIDR base + 2): the dataplane sends it the UDP
/// queries addressed to it, and it answers from the VPC's split-horizon view (docs/aws-behaviour.md
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
        // Aliases first, each as a CNAME record, then the records of the name they lead to.
        var owner = query.name
        var answers: [DNSRecord] = []
        while type != .cname, answers.count < 8, case .alias(let next) = view.resolve(owner, type: .cname, from: vpc) {
            answers.append(DNSRecord(owner, .alias(next)))
            owner = next.lowercased().hasSuffix(".") ? String(next.lowercased().dropLast()) : next.lowercased()
        }
        var code = DNSResponseCode.noError
        switch view.resolve(owner, type: type, from: vpc) {
        case .ipv4(let addresses): answers += addresses.map { DNSRecord(owner, .ipv4($0)) }
        case .ipv6(let addresses): answers += addresses.map { DNSRecord(owner, .ipv6($0)) }
        case .text(let texts): answers += texts.map { DNSRecord(owner, .text($0)) }
        case .alias(let name): answers.append(DNSRecord(owner, .alias(name)))
        case .noData: break
        case .nxdomain: code = .nameError
        }
        return DNSMessage.response(to: query, code: code, answers: answers)
    }
}
