// Ethernet II with up to two 802.1Q / 802.1ad tags (IEEE 802.1Q; QinQ outer tag 0x88A8).

/// A zero-copy view of an Ethernet II frame.
@frozen
public struct EthernetFrame {
    public enum Offset {
        public static let destination = 0
        public static let source = 6
        public static let etherType = 12
        public static let untaggedHeader = 14
        public static let tag = 4
    }

    public let base: UnsafeMutableRawPointer
    public let count: Int
    /// Bytes before the payload: 14, plus 4 per VLAN tag.
    public let headerLength: Int
    /// Number of VLAN tags, 0...2.
    public let vlanTagCount: Int

    /// Checks the header and walks VLAN tags; a third tag is refused.
    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard let base = bytes.nonEmptyBase, bytes.count >= Offset.untaggedHeader else { throw .truncated }
        var tags = 0
        var typeOffset = Offset.etherType
        while true {
            let type = base.readU16(at: typeOffset)
            guard type == EtherType.vlan.rawValue || type == EtherType.qinq.rawValue
                    || type == 0x9100 else { break }
            guard tags < 2 else { throw .tooManyVLANTags }
            guard bytes.count >= typeOffset + 2 + Offset.tag else { throw .truncated }
            tags += 1
            typeOffset += Offset.tag
        }
        self.base = base
        self.count = bytes.count
        self.vlanTagCount = tags
        self.headerLength = typeOffset + 2
    }

    @inlinable public var destination: MACAddress { base.readMACAddress(at: Offset.destination) }
    @inlinable public var source: MACAddress { base.readMACAddress(at: Offset.source) }

    /// The EtherType after any VLAN tags: what the payload is.
    @inlinable public var etherType: EtherType { EtherType(rawValue: base.readU16(at: headerLength - 2)) }

    /// The 12-bit VLAN ID of tag `index` (0 = outermost), or nil when there is no such tag.
    @inlinable
    public func vlanID(_ index: Int) -> UInt16? {
        guard index >= 0, index < vlanTagCount else { return nil }
        return base.readU16(at: Offset.etherType + 2 + Offset.tag * index) & 0x0FFF
    }

    @inlinable
    public var payload: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + headerLength, count: count - headerLength)
    }

    @inlinable public func setDestination(_ address: MACAddress) { base.writeMACAddress(address, at: Offset.destination) }
    @inlinable public func setSource(_ address: MACAddress) { base.writeMACAddress(address, at: Offset.source) }
}
