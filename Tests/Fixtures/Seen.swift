import PacketWire

/// A packet read back: addresses, ports, flags, and whether every checksum verifies against a
/// full recompute.
public struct Seen {
    public var source = ""
    public var destination = ""
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    public var flags = TCPFlags()
    public var sequence: UInt32 = 0
    public var acknowledgment: UInt32 = 0
    public var mss: UInt16?
    public var checksumsValid = false
    public var payload = 0

    public init(_ bytes: [UInt8]) {
        var copy = bytes
        copy.withUnsafeMutableBytes { buffer in
            guard let packet = try? PacketDissection(etherType: bytes.first.map { $0 >> 4 == 6 } == true ? .ipv6 : .ipv4,
                                                     bytes: buffer) else { return }
            var pseudo: UInt32 = 0
            var headerValid = true
            switch packet.network {
            case .ipv4(let ip):
                source = ip.source.description
                destination = ip.destination.description
                pseudo = ip.pseudoHeaderSum
                headerValid = ip.headerChecksumIsValid
            case .ipv6(let ip):
                source = ip.source.description
                destination = ip.destination.description
                pseudo = ip.pseudoHeaderSum
            case .other:
                return
            }
            switch packet.transport {
            case .tcp(let tcp):
                sourcePort = tcp.sourcePort
                destinationPort = tcp.destinationPort
                flags = tcp.flags
                sequence = tcp.sequenceNumber
                acknowledgment = tcp.acknowledgmentNumber
                payload = tcp.payload.count
                for option in tcp.options { if case .maximumSegmentSize(let value) = option { mss = value } }
                checksumsValid = headerValid && tcp.checksumIsValid(pseudoHeaderSum: pseudo)
            case .udp(let udp):
                sourcePort = udp.sourcePort
                destinationPort = udp.destinationPort
                checksumsValid = headerValid && udp.checksumIsValid(pseudoHeaderSum: pseudo, ipv4: bytes.first! >> 4 == 4)
            case .icmpv4(let icmp):
                checksumsValid = headerValid && icmp.checksumIsValid
            case .icmpv6(let icmp):
                checksumsValid = icmp.checksumIsValid(pseudoHeaderSum: pseudo)
            default:
                checksumsValid = headerValid
            }
        }
    }
}
