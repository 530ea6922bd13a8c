// PROXY protocol version 2 (haproxy's proxy-protocol.txt §2.2): the binary header a proxy puts
// before the first bytes of a TCP connection to say who the client was. The NLB prepends one
// when a target group asks (`proxy_protocol_v2.enabled`), with AWS's TLV naming the VPC endpoint
// the connection came through (type 0xEA, subtype 0x01, the endpoint ID in ASCII).

/// Field offsets and values of a PROXY v2 header, and writers for the two commands.
public enum ProxyProtocolV2 {
    public enum Offset {
        public static let signature = 0
        public static let versionCommand = 12
        public static let familyProtocol = 13
        public static let length = 14
        public static let addresses = 16
    }

    /// The 12-byte signature every v2 header starts with.
    public static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// Version 2 (high nibble) and the command: PROXY (a relayed connection) or LOCAL (one the
    /// proxy made itself, such as a health check: no addresses follow).
    public static let proxyCommand: UInt8 = 0x21
    public static let localCommand: UInt8 = 0x20
    /// Address family (high nibble) and transport (low): TCP over IPv4, TCP over IPv6, or none.
    public static let tcpOverIPv4: UInt8 = 0x11
    public static let tcpOverIPv6: UInt8 = 0x21
    public static let unspecified: UInt8 = 0x00
    /// AWS's TLV type (PP2_TYPE_AWS) and its subtype for the VPC endpoint ID.
    public static let awsType: UInt8 = 0xEA
    public static let awsEndpointSubtype: UInt8 = 0x01
    /// The longest TLVs Privet writes: AWS's, around an endpoint ID of up to 23 characters.
    public static let maximumTLVLength = 3 + 1 + 23

    /// Bytes of a PROXY header for TCP over the family, followed by `tlvLength` bytes of TLVs.
    @inlinable
    public static func length(ipv6: Bool, tlvLength: Int) -> Int {
        Offset.addresses + (ipv6 ? 36 : 12) + tlvLength
    }

    /// AWS's TLV for the endpoint `id` (`vpce-...`): 0xEA, its length, 0x01, the ID in ASCII.
    public static func awsEndpointTLV(_ id: String) -> [UInt8] {
        let value = [awsEndpointSubtype] + Array(id.utf8.prefix(maximumTLVLength - 4))
        return [awsType, UInt8(value.count >> 8), UInt8(value.count & 0xFF)] + value
    }

    /// Writes the header of a relayed TCP connection at `base`: command PROXY, the client's
    /// (source) and the proxy's listening (destination) addresses and ports, then `tlv`. Returns
    /// its length. `base` must have room for `length(ipv6:tlvLength:)` bytes.
    @inlinable
    public static func writeProxy(at base: UnsafeMutableRawPointer, source: IPv6Address, destination: IPv6Address, ipv6: Bool,
                                  sourcePort: UInt16, destinationPort: UInt16, tlv: UnsafeRawBufferPointer) -> Int {
        writeSignature(at: base, command: proxyCommand, family: ipv6 ? tcpOverIPv6 : tcpOverIPv4)
        var offset = Offset.addresses
        if ipv6 {
            base.writeIPv6Address(source, at: offset)
            base.writeIPv6Address(destination, at: offset + 16)
            offset += 32
        } else {
            base.writeU32(UInt32(truncatingIfNeeded: source.low), at: offset)
            base.writeU32(UInt32(truncatingIfNeeded: destination.low), at: offset + 4)
            offset += 8
        }
        base.writeU16(sourcePort, at: offset)
        base.writeU16(destinationPort, at: offset + 2)
        offset += 4
        if let bytes = tlv.baseAddress, tlv.count > 0 { (base + offset).copyMemory(from: bytes, byteCount: tlv.count) }
        offset += tlv.count
        base.writeU16(UInt16(offset - Offset.addresses), at: Offset.length)
        return offset
    }

    /// Writes the header of a connection the proxy made itself (command LOCAL, no addresses):
    /// 16 bytes.
    @inlinable
    public static func writeLocal(at base: UnsafeMutableRawPointer) -> Int {
        writeSignature(at: base, command: localCommand, family: unspecified)
        base.writeU16(0, at: Offset.length)
        return Offset.addresses
    }

    @inlinable
    static func writeSignature(at base: UnsafeMutableRawPointer, command: UInt8, family: UInt8) {
        signature.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: 12) }
        base.writeU8(command, at: Offset.versionCommand)
        base.writeU8(family, at: Offset.familyProtocol)
    }
}
