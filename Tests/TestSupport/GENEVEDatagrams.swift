import PacketWire

/// A GENEVE datagram (the UDP payload) as a GWLB sends it to an appliance: AWS's three options
/// of class 0x0108 (endpoint ID, attachment ID, flow cookie) around `inner`.
public func gwlbDatagram(inner: [UInt8], protocolType: EtherType = .ipv4, options: [GENEVEOptionFields]? = nil) -> [UInt8] {
    var fields = GENEVEFields(protocolType: protocolType)
    fields.options = options ?? [
        GENEVEOptionFields(optionClass: 0x0108, type: 1, data: [0, 0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56]),
        GENEVEOptionFields(optionClass: 0x0108, type: 2, data: [0, 0, 0, 0, 0, 0, 0x11, 0x22]),
        GENEVEOptionFields(optionClass: 0x0108, type: 3, data: [0xca, 0xfe, 0xf0, 0x0d]),
    ]
    var bytes = [UInt8](repeating: 0, count: fields.headerLength)
    _ = bytes.withUnsafeMutableBytes { PacketBuilder.geneve(fields, into: $0) }
    return bytes + inner
}

/// A TCP SYN from a consumer host to an internet address, to put inside a datagram.
public func innerTCP(port: UInt16) -> [UInt8] {
    PacketBuilder.ipv4Packet(IPv4Fields(source: IPv4Address(10, 20, 1, 4), destination: IPv4Address(198, 51, 100, 10)),
                             .tcp(TCPFields(sourcePort: 40000, destinationPort: port, flags: .syn)))
}
