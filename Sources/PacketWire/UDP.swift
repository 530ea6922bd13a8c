// UDP (RFC 768; IPv6 rules RFC 8200 §8.1).

/// A zero-copy view of a UDP datagram.
@frozen
public struct UDPDatagram {
    public enum Offset {
        public static let sourcePort = 0
        public static let destinationPort = 2
        public static let length = 4
        public static let checksum = 6
        public static let header = 8
    }

    public let base: UnsafeMutableRawPointer
    /// The datagram's length as its length field says (header included), checked against the
    /// bytes present.
    public let length: Int

    /// Checks the length field: at least 8 and no more than the bytes present. Bytes beyond the
    /// length field are not part of the datagram.
    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard let base = bytes.nonEmptyBase, bytes.count >= Offset.header else { throw .truncated }
        let length = Int(base.readU16(at: Offset.length))
        guard length >= Offset.header else { throw .badUDPLength }
        guard length <= bytes.count else { throw .truncated }
        self.base = base
        self.length = length
    }

    @inlinable public var sourcePort: UInt16 { base.readU16(at: Offset.sourcePort) }
    @inlinable public var destinationPort: UInt16 { base.readU16(at: Offset.destinationPort) }
    @inlinable public var checksum: UInt16 { base.readU16(at: Offset.checksum) }

    @inlinable
    public var payload: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + Offset.header, count: length - Offset.header)
    }

    /// True when the checksum verifies; a zero checksum means "not computed" over IPv4 (RFC 768)
    /// and is accepted there, but is invalid over IPv6 (RFC 8200 §8.1).
    @inlinable
    public func checksumIsValid(pseudoHeaderSum: UInt32, ipv4: Bool) -> Bool {
        if checksum == 0 { return ipv4 }
        return InternetChecksum.verifies(base, count: length, pseudoHeaderSum: pseudoHeaderSum)
    }

    /// Computes the checksum from scratch; a result of zero is sent as 0xFFFF (RFC 768).
    @inlinable
    public func updateChecksum(pseudoHeaderSum: UInt32) {
        let value = InternetChecksum.store(base, count: length, fieldOffset: Offset.checksum, pseudoHeaderSum: pseudoHeaderSum)
        if value == 0 { base.writeU16(0xFFFF, at: Offset.checksum) }
    }

    @inlinable
    public func setSourcePort(_ port: UInt16) { rewritePort(at: Offset.sourcePort, to: port) }

    @inlinable
    public func setDestinationPort(_ port: UInt16) { rewritePort(at: Offset.destinationPort, to: port) }

    @inlinable
    func rewritePort(at offset: Int, to port: UInt16) {
        let old = base.readU16(at: offset)
        base.writeU16(port, at: offset)
        TransportChecksum.adjust(protocol: .udp, segment: UnsafeMutableRawBufferPointer(start: base, count: length),
                                 delta: InternetChecksum.delta(old: old, new: port))
    }
}
