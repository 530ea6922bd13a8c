import PacketWire

/// A GENEVE packet as it left the dataplane for an appliance, read back.
public struct Tunnelled {
    public var outerSource = ""
    public var outerDestination = ""
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    public var udpChecksum: UInt16 = 1
    public var dontFragment = false
    public var headerChecksumValid = false
    public var options: GWLBOptions?
    public var optionOrder: [UInt8] = []
    public var protocolType: UInt16 = 0
    public var vni: UInt32 = 1
    public var inner: [UInt8] = []

    public init(_ bytes: [UInt8]) {
        var copy = bytes
        copy.withUnsafeMutableBytes { buffer in
            guard let ip = try? IPv4Packet(buffer), ip.protocol == .udp, let udp = try? UDPDatagram(ip.payload),
                  let geneve = try? GENEVEHeader(udp.payload) else { return }
            outerSource = ip.source.description
            outerDestination = ip.destination.description
            dontFragment = ip.dontFragment
            headerChecksumValid = ip.headerChecksumIsValid
            sourcePort = udp.sourcePort
            destinationPort = udp.destinationPort
            udpChecksum = udp.checksum
            options = geneve.gwlbOptions
            optionOrder = geneve.options.map { $0.type }
            protocolType = geneve.protocolType.rawValue
            vni = geneve.vni
            inner = Array(geneve.payload)
        }
    }

    /// What the reference appliance sends back: the same bytes, outer addresses swapped (the
    /// header checksum is a sum over both, so it stays right).
    public static func returned(_ bytes: [UInt8]) -> [UInt8] {
        var reply = bytes
        for offset in 12..<16 { reply.swapAt(offset, offset + 4) }
        return reply
    }
}

