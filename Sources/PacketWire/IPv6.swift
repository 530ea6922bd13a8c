// IPv6 (RFC 8200) and its extension-header chain: hop-by-hop (first only), routing, fragment and
// destination options are walked; anything else ends the chain as the upper-layer protocol.
// Jumbograms (RFC 2675, payload length 0) are not read: their hop-by-hop header runs past the
// zero payload and the chain is refused.

/// A zero-copy view of an IPv6 packet with its extension-header chain walked.
@frozen
public struct IPv6Packet {
    public enum Offset {
        public static let versionClassFlow = 0
        public static let payloadLength = 4
        public static let nextHeader = 6
        public static let hopLimit = 7
        public static let source = 8
        public static let destination = 24
        public static let fixedHeader = 40
    }

    /// At most this many extension headers are walked; a longer chain is refused.
    public static let maximumExtensionHeaders = 8

    public let base: UnsafeMutableRawPointer
    /// Bytes of the packet present: 40 + payload length, or less for a quoted packet.
    public let availableLength: Int
    /// Where the upper-layer header starts (after the extension headers).
    public let upperLayerOffset: Int
    /// The protocol after the extension headers (TCP, UDP, ICMPv6, or whatever ended the chain).
    public let upperLayerProtocol: IPProtocol
    /// Offset of the fragment header, or 0 when there is none.
    public let fragmentHeaderOffset: Int
    /// Offset of the address the transport pseudo-header uses as destination: the fixed header's,
    /// or the last hop of a routing header that still has segments left (RFC 8200 §8.1).
    public let finalDestinationOffset: Int
    public let extensionHeaderCount: Int
    /// Offset of the first routing header, or 0 when there is none.
    public let routingHeaderOffset: Int
    /// Fragment headers in the chain: more than one is a fragment inside a fragment, which RFC
    /// 8200 §4.1 does not allow (each extension header at most once).
    public let fragmentHeaderCount: Int

    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        try self.init(bytes, allowingTruncation: false)
    }

    /// A packet quoted inside an ICMPv6 error (RFC 4443 §3): the payload may be cut short.
    @inlinable
    public init(quoted bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        try self.init(bytes, allowingTruncation: true)
    }

    @inlinable
    init(_ bytes: UnsafeMutableRawBufferPointer, allowingTruncation: Bool) throws(WireError) {
        guard let base = bytes.nonEmptyBase, bytes.count >= Offset.fixedHeader else { throw .truncated }
        guard base.readU8(at: 0) >> 4 == 6 else { throw .badVersion }
        let declared = Offset.fixedHeader + Int(base.readU16(at: Offset.payloadLength))
        if declared > bytes.count && !allowingTruncation { throw .truncated }
        let available = min(declared, bytes.count)

        var next = IPProtocol(rawValue: base.readU8(at: Offset.nextHeader))
        var offset = Offset.fixedHeader
        var count = 0
        var fragmentHeader = 0
        var fragmentHeaders = 0
        var routingHeader = 0
        var finalDestination = Offset.destination
        walk: while true {
            let length: Int
            switch next {
            case .hopByHop, .routing, .destinationOptions:
                if next == .hopByHop && offset != Offset.fixedHeader { throw .badExtensionChain }
                guard offset + 2 <= available else { throw available < declared ? .truncated : .badExtensionChain }
                length = (Int(base.readU8(at: offset + 1)) + 1) * 8
            case .fragment:
                length = 8
            default:
                break walk
            }
            guard count < IPv6Packet.maximumExtensionHeaders else { throw .badExtensionChain }
            guard offset + length <= available else { throw available < declared ? .truncated : .badExtensionChain }
            if next == .routing {
                if routingHeader == 0 { routingHeader = offset }
                finalDestination = IPv6Packet.finalHop(base: base, routingHeader: offset, length: length)
                    ?? finalDestination
            }
            count += 1
            let following = IPProtocol(rawValue: base.readU8(at: offset))
            if next == .fragment {
                if fragmentHeader == 0 { fragmentHeader = offset }
                fragmentHeaders += 1
                let laterFragment = base.readU16(at: offset + 2) & 0xFFF8 != 0
                offset += length
                next = following
                // A later fragment carries no upper-layer header: the chain ends here.
                if laterFragment { break walk }
                continue
            }
            offset += length
            next = following
        }
        self.base = base
        self.availableLength = available
        self.upperLayerOffset = offset
        self.upperLayerProtocol = next
        self.fragmentHeaderOffset = fragmentHeader
        self.finalDestinationOffset = finalDestination
        self.extensionHeaderCount = count
        self.routingHeaderOffset = routingHeader
        self.fragmentHeaderCount = fragmentHeaders
    }

    /// The last address of a type 0 or 2 routing header, or Segment List[0] of a segment routing
    /// header (type 4, RFC 8754 §2), when segments are left; nil otherwise.
    @inlinable
    static func finalHop(base: UnsafeMutableRawPointer, routingHeader offset: Int, length: Int) -> Int? {
        let type = base.readU8(at: offset + 2)
        let segmentsLeft = base.readU8(at: offset + 3)
        let addresses = (length - 8) / 16
        guard segmentsLeft > 0, addresses > 0 else { return nil }
        switch type {
        case 0, 2: return offset + 8 + 16 * (addresses - 1)
        case 4: return offset + 8
        default: return nil
        }
    }

    /// The routing type of the first routing header (0: the source route RFC 5095 deprecates),
    /// or nil when there is none.
    @inlinable
    public var routingType: UInt8? { routingHeaderOffset == 0 ? nil : base.readU8(at: routingHeaderOffset + 2) }

    @inlinable public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: base.readU32(at: 0) >> 20) }
    @inlinable public var flowLabel: UInt32 { base.readU32(at: 0) & 0x000F_FFFF }
    @inlinable public var payloadLength: Int { Int(base.readU16(at: Offset.payloadLength)) }
    @inlinable public var nextHeader: IPProtocol { IPProtocol(rawValue: base.readU8(at: Offset.nextHeader)) }
    @inlinable public var hopLimit: UInt8 { base.readU8(at: Offset.hopLimit) }
    @inlinable public var source: IPv6Address { base.readIPv6Address(at: Offset.source) }
    @inlinable public var destination: IPv6Address { base.readIPv6Address(at: Offset.destination) }
    @inlinable public var finalDestination: IPv6Address { base.readIPv6Address(at: finalDestinationOffset) }

    /// True for a piece of a fragmented datagram; an atomic fragment (offset 0, M clear,
    /// RFC 6946) is a whole datagram and is not one.
    @inlinable public var isFragment: Bool { fragmentOffset != 0 || moreFragments }
    /// Fragment offset in bytes (0 when not a fragment).
    @inlinable
    public var fragmentOffset: Int {
        fragmentHeaderOffset == 0 ? 0 : Int(base.readU16(at: fragmentHeaderOffset + 2) & 0xFFF8)
    }
    @inlinable
    public var moreFragments: Bool {
        fragmentHeaderOffset != 0 && base.readU16(at: fragmentHeaderOffset + 2) & 1 != 0
    }
    @inlinable
    public var fragmentIdentification: UInt32 {
        fragmentHeaderOffset == 0 ? 0 : base.readU32(at: fragmentHeaderOffset + 4)
    }
    /// True when the upper-layer header is in this packet: not a fragment, or the first one.
    @inlinable public var carriesTransportHeader: Bool { fragmentOffset == 0 }

    /// The upper-layer bytes (after every extension header), as far as they are present.
    @inlinable
    public var upperLayer: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + upperLayerOffset, count: availableLength - upperLayerOffset)
    }

    /// The pseudo-header sum for the upper-layer checksum (RFC 8200 §8.1).
    @inlinable
    public var pseudoHeaderSum: UInt32 {
        InternetChecksum.pseudoHeaderSum(
            source: source, destination: finalDestination, protocol: upperLayerProtocol,
            length: Offset.fixedHeader + payloadLength - upperLayerOffset)
    }

    /// Rewrites the source address, keeping the upper-layer checksum right (RFC 1624).
    @inlinable
    public func setSource(_ address: IPv6Address) {
        rewriteAddress(at: Offset.source, to: address)
    }

    /// Rewrites the destination address. When a routing header names a later final destination
    /// the pseudo-header does not use this address, and no checksum changes.
    @inlinable
    public func setDestination(_ address: IPv6Address) {
        rewriteAddress(at: Offset.destination, to: address)
    }

    /// Sets the payload length (the packet grew or shrank); IPv6 has no header checksum.
    @inlinable
    public func setPayloadLength(_ length: Int) {
        base.writeU16(UInt16(truncatingIfNeeded: length), at: Offset.payloadLength)
    }

    @inlinable
    public func decrementHopLimit() {
        base.writeU8(hopLimit &- 1, at: Offset.hopLimit)
    }

    @inlinable
    func rewriteAddress(at offset: Int, to address: IPv6Address) {
        let old = base.readIPv6Address(at: offset)
        base.writeIPv6Address(address, at: offset)
        guard carriesTransportHeader, offset == Offset.source || offset == finalDestinationOffset else { return }
        TransportChecksum.adjust(
            protocol: upperLayerProtocol, segment: upperLayer, delta: InternetChecksum.delta(old: old, new: address))
    }
}
