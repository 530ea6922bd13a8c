// libFuzzer target for the wire layer: arbitrary bytes through every validating initialiser, and
// through every accessor of what they accept. Built and run by scripts/fuzz.sh.
import PacketWire

func wireFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    // A private, writable copy: views are mutable, and libFuzzer's input is not ours to write.
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
    defer { buffer.deallocate() }
    if size > 0 { buffer.baseAddress!.copyMemory(from: data, byteCount: size) }
    for linkType in [LinkType.ethernet, .rawIP, .linuxSLL, .linuxSLL2] {
        if let packet = try? PacketDissection(linkType: linkType, bytes: buffer) {
            _ = PacketText.line(packet)
            exercise(packet)
        }
    }
    if let geneve = try? GENEVEHeader(buffer) {
        for option in geneve.options { _ = option.data.reduce(0, &+) }
        _ = (geneve.payload.count, geneve.gwlbOptions)
    }
    return 0
}

/// Reads every field and runs every rewrite, so that a bounds mistake in any accessor shows.
func exercise(_ packet: PacketDissection) {
    switch packet.network {
    case .ipv4(let ip):
        _ = (ip.headerChecksumIsValid, ip.pseudoHeaderSum, ip.payload.count)
        ip.setSource(IPv4Address(0x0A00_0001))
        ip.decrementTTL()
    case .ipv6(let ip):
        _ = (ip.pseudoHeaderSum, ip.finalDestination, ip.fragmentIdentification, ip.upperLayer.count)
        ip.setDestination(IPv6Address(high: 1, low: 2))
    case .other:
        break
    }
    switch packet.transport {
    case .tcp(let tcp):
        for option in tcp.options { _ = option }
        tcp.setSourcePort(1)
        _ = tcp.checksumIsValid(pseudoHeaderSum: 0)
    case .udp(let udp):
        udp.setDestinationPort(2)
        _ = udp.checksumIsValid(pseudoHeaderSum: 0, ipv4: true)
    case .icmpv4(let icmp):
        _ = (icmp.quotedPacket?.payload.count, icmp.checksumIsValid)
    case .icmpv6(let icmp):
        _ = (icmp.quotedPacket?.upperLayer.count, icmp.checksumIsValid(pseudoHeaderSum: 0))
    case .fragment, .other, .none:
        break
    }
}
