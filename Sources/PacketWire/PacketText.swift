// One-line text for a dissected packet, in the spirit of `tcpdump -n -S` (absolute sequence
// numbers). Diagnostic output, not the hot path: it builds Strings.

public enum PacketText {
    /// The line for a dissected packet (without number or time).
    public static func line(_ packet: PacketDissection) -> String {
        var text = ""
        if let link = packet.link {
            if let outer = link.outerVLAN { text += "vlan \(outer), " }
            if let inner = link.innerVLAN { text += "vlan \(inner), " }
        }
        switch packet.network {
        case .ipv4(let ip):
            text += "IP " + transportLine(packet.transport, source: ip.source.description,
                                          destination: ip.destination.description,
                                          fragment: ip.isFragment ? (ip.identification.description, ip.fragmentOffset, ip.moreFragments, ip.payload.count) : nil)
        case .ipv6(let ip):
            text += "IP6 " + transportLine(packet.transport, source: ip.source.description,
                                           destination: ip.destination.description,
                                           fragment: ip.isFragment ? (ip.fragmentIdentification.description, ip.fragmentOffset, ip.moreFragments, ip.upperLayer.count) : nil)
        case .other(let type):
            text += "ethertype 0x" + hex(type.rawValue, width: 4)
        }
        return text
    }

    /// A short class for counting: "IPv4 TCP", "IPv6 UDP", "IPv4 fragment", "non-IP", ...
    public static func category(_ packet: PacketDissection) -> String {
        let family: String
        switch packet.network {
        case .ipv4: family = "IPv4"
        case .ipv6: family = "IPv6"
        case .other: return "non-IP"
        }
        switch packet.transport {
        case .tcp: return family + " TCP"
        case .udp: return family + " UDP"
        case .icmpv4: return family + " ICMP"
        case .icmpv6: return family + " ICMPv6"
        case .fragment: return family + " fragment"
        case .other(let proto): return family + " " + proto.name
        case .none: return family
        }
    }

    static func transportLine(
        _ transport: TransportLayer, source: String, destination: String, fragment: (String, Int, Bool, Int)?
    ) -> String {
        switch transport {
        case .tcp(let tcp):
            var text = "\(source).\(tcp.sourcePort) > \(destination).\(tcp.destinationPort): "
            text += "Flags [\(tcp.flags.tcpdumpLetters)], seq \(tcp.sequenceNumber)"
            if tcp.flags.contains(.ack) { text += ", ack \(tcp.acknowledgmentNumber)" }
            text += ", win \(tcp.window)"
            let options = tcpOptions(tcp.options)
            if !options.isEmpty { text += ", options [\(options)]" }
            return text + ", length \(tcp.payload.count)"
        case .udp(let udp):
            let text = "\(source).\(udp.sourcePort) > \(destination).\(udp.destinationPort): "
                + "UDP, length \(udp.payload.count)"
            if udp.destinationPort == GENEVEHeader.udpPort, let inner = genevePart(udp.payload) {
                return text + ": " + inner
            }
            return text
        case .icmpv4(let icmp):
            return "\(source) > \(destination): ICMP " + icmpLine(icmp)
        case .icmpv6(let icmp):
            return "\(source) > \(destination): ICMP6, " + icmpLine(icmp)
        case .fragment(let proto):
            let (identification, offset, more, length) = fragment ?? ("0", 0, false, 0)
            return "\(source) > \(destination): \(proto.name) fragment id \(identification) offset \(offset)"
                + (more ? " more" : "") + ", length \(length)"
        case .other(let proto):
            return "\(source) > \(destination): \(proto.name)"
        case .none:
            return "\(source) > \(destination)"
        }
    }

    static func icmpLine(_ icmp: some ICMPMessage) -> String {
        var text = icmp.typeName
        if icmp.isEcho { text += ", id \(icmp.identifier), seq \(icmp.sequenceNumber)" }
        if let quoted = icmp.quotedSummary { text += ", quoting " + quoted }
        return text + ", length \(icmp.count)"
    }

    static func tcpOptions(_ options: TCPOptions) -> String {
        var parts: [String] = []
        for option in options {
            switch option {
            case .endOfList: parts.append("eol")
            case .noOperation: parts.append("nop")
            case .maximumSegmentSize(let mss): parts.append("mss \(mss)")
            case .windowScale(let scale): parts.append("wscale \(scale)")
            case .sackPermitted: parts.append("sackOK")
            case .sack(let blocks): parts.append("sack \(blocks)")
            case .timestamps(let value, let echo): parts.append("TS val \(value) ecr \(echo)")
            case .unknown(let kind, let length): parts.append("opt-\(kind):\(length)")
            case .malformed(let kind): parts.append("malformed opt-\(kind)")
            }
        }
        return parts.joined(separator: ",")
    }

    /// "Geneve, vni 0x1, proto IPv4, options [...]: <inner line>", or nil when it is not GENEVE.
    static func genevePart(_ payload: UnsafeMutableRawBufferPointer) -> String? {
        guard let geneve = try? GENEVEHeader(payload) else { return nil }
        var text = "Geneve, vni 0x\(String(geneve.vni, radix: 16))"
        if geneve.isOAM { text += ", oam" }
        if geneve.hasCriticalOptions { text += ", critical" }
        let options = geneve.options.map { option in
            "class 0x\(hex(option.optionClass, width: 4)) type 0x\(hex(UInt16(option.type), width: 2)) len \(option.dataLength)"
        }
        if !options.isEmpty { text += ", options [\(options.joined(separator: ", "))]" }
        let inner = geneve.payload
        let etherType = geneve.protocolType
        if etherType == .transparentEthernet {
            guard let packet = try? PacketDissection(linkType: .ethernet, bytes: inner) else {
                return text + ": malformed inner Ethernet frame"
            }
            return text + ": " + line(packet)
        }
        do {
            return text + ": " + line(try PacketDissection(etherType: etherType, bytes: inner))
        } catch {
            return text + ": malformed \(error.summary)"
        }
    }

    static func hex(_ value: UInt16, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
