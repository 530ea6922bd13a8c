import PacketWire

/// The packet quoted inside an ICMP or ICMPv6 error (RFC 792, RFC 4443 §2.4): its flow key, and
/// how to translate it together with the error's own addresses.
struct ICMPQuote {
    let key: FlowKey
    let message: UnsafeMutableRawBufferPointer
    let ipv4Quote: IPv4Packet?
    let ipv6Quote: IPv6Packet?

    init?(_ packet: ParsedPacket) {
        message = packet.transport
        let body = UnsafeMutableRawBufferPointer(rebasing: message[ICMPOffset.header...])
        if packet.ipv4 != nil {
            guard let quoted = try? IPv4Packet(quoted: body), quoted.carriesTransportHeader else { return nil }
            ipv4Quote = quoted
            ipv6Quote = nil
            var key = FlowKey(source: quoted.source, destination: quoted.destination, sourcePort: 0, destinationPort: 0,
                              proto: quoted.protocol)
            ICMPQuote.ports(quoted.payload, into: &key)
            self.key = key
        } else {
            guard let quoted = try? IPv6Packet(quoted: body), quoted.carriesTransportHeader else { return nil }
            ipv4Quote = nil
            ipv6Quote = quoted
            var key = FlowKey(source: quoted.source, destination: quoted.destination, sourcePort: 0, destinationPort: 0,
                              proto: quoted.upperLayerProtocol)
            ICMPQuote.ports(quoted.upperLayer, into: &key)
            self.key = key
        }
    }

    /// The 4 bytes after the checksum (an MTU, a pointer, or unused).
    var restOfHeader: UInt32 {
        UInt32(message[4]) << 24 | UInt32(message[5]) << 16 | UInt32(message[6]) << 8 | UInt32(message[7])
    }

    /// Sets the quoted packet's TCP or UDP ports to `key`'s (the checksums are not the quote's
    /// concern: the error's own is computed after).
    func setPorts(_ key: FlowKey) {
        let transport = ipv4Quote?.payload ?? ipv6Quote?.upperLayer
        guard let transport, key.proto == IPProtocol.tcp.rawValue || key.proto == IPProtocol.udp.rawValue, transport.count >= 4 else {
            return
        }
        transport[0] = UInt8(key.sourcePort >> 8)
        transport[1] = UInt8(key.sourcePort & 0xFF)
        transport[2] = UInt8(key.destinationPort >> 8)
        transport[3] = UInt8(key.destinationPort & 0xFF)
    }

    /// TCP and UDP ports are the first 4 bytes, which every ICMP error quotes (it quotes 8).
    private static func ports(_ transport: UnsafeMutableRawBufferPointer, into key: inout FlowKey) {
        guard key.proto == IPProtocol.tcp.rawValue || key.proto == IPProtocol.udp.rawValue, transport.count >= 4 else { return }
        key.sourcePort = UInt16(transport[0]) << 8 | UInt16(transport[1])
        key.destinationPort = UInt16(transport[2]) << 8 | UInt16(transport[3])
    }

    /// Gives the error new outer addresses and the quoted packet the key `quoted`, then recomputes
    /// the ICMP checksum over the changed message.
    func translate(outer packet: ParsedPacket, outerSource: FlowAddress, outerDestination: FlowAddress, quoted: FlowKey) {
        if let inner = ipv4Quote, let outer = packet.ipv4 {
            inner.rewriteFlow(source: quoted.sourceIPv4, destination: quoted.destinationIPv4,
                              sourcePort: quoted.sourcePort, destinationPort: quoted.destinationPort)
            outer.rewriteFlow(source: outerSource.ipv4, destination: outerDestination.ipv4, sourcePort: 0, destinationPort: 0)
            try? ICMPv4Message(message).updateChecksum()
        } else if let inner = ipv6Quote, let outer = packet.ipv6 {
            inner.rewriteFlow(source: quoted.sourceIPv6, destination: quoted.destinationIPv6,
                              sourcePort: quoted.sourcePort, destinationPort: quoted.destinationPort)
            outer.rewriteFlow(source: outerSource.ipv6, destination: outerDestination.ipv6, sourcePort: 0, destinationPort: 0)
            try? ICMPv6Message(message).updateChecksum(pseudoHeaderSum: outer.pseudoHeaderSum)
        }
    }
}
