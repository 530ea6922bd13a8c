import PacketWire


/// Bytes from a hex string (whitespace ignored), as the golden vectors are written.
func bytes(_ hex: String) -> [UInt8] {
    let digits = hex.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    var result: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        result.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return result
}

/// Runs `body` over a mutable copy of `packet`.
@discardableResult
func withPacket<R>(_ packet: [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
    var copy = packet
    return try copy.withUnsafeMutableBytes { try body($0) }
}

/// The transport checksum of a packet recomputed from scratch, for comparison with what a
/// rewrite left in the field. Returns (stored, recomputed).
func transportChecksums(ipv4 ip: IPv4Packet) -> (UInt16, UInt16)? {
    let segment = ip.payload
    return recompute(segment: segment, proto: ip.protocol, pseudo: ip.pseudoHeaderSum, ipv4: true)
}

func transportChecksums(ipv6 ip: IPv6Packet) -> (UInt16, UInt16)? {
    recompute(segment: ip.upperLayer, proto: ip.upperLayerProtocol, pseudo: ip.pseudoHeaderSum, ipv4: false)
}

private func recompute(segment: UnsafeMutableRawBufferPointer, proto: IPProtocol, pseudo: UInt32, ipv4: Bool) -> (UInt16, UInt16)? {
    guard let offset = TransportChecksum.fieldOffset(proto), segment.count >= offset + 2 else { return nil }
    let stored = UInt16(segment[offset]) << 8 | UInt16(segment[offset + 1])
    if proto == .udp && stored == 0 && ipv4 { return (0, 0) }
    var copy = Array(segment)
    copy[offset] = 0
    copy[offset + 1] = 0
    let sum = copy.withUnsafeBytes { InternetChecksum.sum($0) }
    var value = InternetChecksum.finish(InternetChecksum.add(pseudo, sum))
    if proto == .udp && value == 0 { value = 0xFFFF }
    return (stored, value)
}
