// IPv4 (RFC 791). Options are skipped by IHL; fragments are recognised, not reassembled.

/// A zero-copy view of an IPv4 packet.
@frozen
public struct IPv4Packet {
    public enum Offset {
        public static let versionIHL = 0
        public static let typeOfService = 1
        public static let totalLength = 2
        public static let identification = 4
        public static let flagsFragment = 6
        public static let ttl = 8
        public static let `protocol` = 9
        public static let checksum = 10
        public static let source = 12
        public static let destination = 16
        public static let minimumHeader = 20
    }

    public let base: UnsafeMutableRawPointer
    /// Header length in bytes (IHL × 4).
    public let headerLength: Int
    /// Bytes of the packet present: the total length, or less for a quoted (ICMP error) packet.
    public let availableLength: Int

    /// Checks version, IHL and total length against the buffer. The buffer may be longer than the
    /// packet (Ethernet padding); the packet is cut to its total length.
    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        try self.init(bytes, allowingTruncation: false)
    }

    /// A packet quoted inside an ICMP error (RFC 792): its total length may run past the bytes
    /// quoted; only the header must be whole.
    @inlinable
    public init(quoted bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        try self.init(bytes, allowingTruncation: true)
    }

    @inlinable
    init(_ bytes: UnsafeMutableRawBufferPointer, allowingTruncation: Bool) throws(WireError) {
        guard let base = bytes.nonEmptyBase, bytes.count >= Offset.minimumHeader else { throw .truncated }
        let first = base.readU8(at: Offset.versionIHL)
        guard first >> 4 == 4 else { throw .badVersion }
        let headerLength = Int(first & 0x0F) * 4
        guard headerLength >= Offset.minimumHeader else { throw .badHeaderLength }
        guard bytes.count >= headerLength else { throw .truncated }
        let totalLength = Int(base.readU16(at: Offset.totalLength))
        guard totalLength >= headerLength else { throw .badTotalLength }
        if totalLength > bytes.count && !allowingTruncation { throw .truncated }
        self.base = base
        self.headerLength = headerLength
        self.availableLength = min(totalLength, bytes.count)
    }

    /// The view of a header that `init(_:)` checked before, made again from what it found.
    @inlinable
    public init(parsed base: UnsafeMutableRawPointer, headerLength: Int, availableLength: Int) {
        self.base = base
        self.headerLength = headerLength
        self.availableLength = availableLength
    }

    @inlinable public var totalLength: Int { Int(base.readU16(at: Offset.totalLength)) }
    @inlinable public var dscp: UInt8 { base.readU8(at: Offset.typeOfService) >> 2 }
    @inlinable public var ecn: UInt8 { base.readU8(at: Offset.typeOfService) & 0x03 }
    @inlinable public var identification: UInt16 { base.readU16(at: Offset.identification) }
    @inlinable public var dontFragment: Bool { base.readU16(at: Offset.flagsFragment) & 0x4000 != 0 }
    @inlinable public var moreFragments: Bool { base.readU16(at: Offset.flagsFragment) & 0x2000 != 0 }
    /// Fragment offset in bytes (the field counts 8-byte units).
    @inlinable public var fragmentOffset: Int { Int(base.readU16(at: Offset.flagsFragment) & 0x1FFF) * 8 }
    /// True for any piece of a fragmented datagram, the first included.
    @inlinable public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    @inlinable public var ttl: UInt8 { base.readU8(at: Offset.ttl) }
    @inlinable public var `protocol`: IPProtocol { IPProtocol(rawValue: base.readU8(at: Offset.protocol)) }
    @inlinable public var headerChecksum: UInt16 { base.readU16(at: Offset.checksum) }
    @inlinable public var source: IPv4Address { base.readIPv4Address(at: Offset.source) }
    @inlinable public var destination: IPv4Address { base.readIPv4Address(at: Offset.destination) }

    /// The bytes after the header, up to the total length (or what was quoted).
    @inlinable
    public var payload: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + headerLength, count: availableLength - headerLength)
    }

    /// True when the transport header is in this packet: not a fragment, or the first one.
    @inlinable public var carriesTransportHeader: Bool { fragmentOffset == 0 }

    /// Whether the header checksum verifies. Read on every packet a router forwards: a header
    /// without options, nearly all of them, is summed as five words here rather than through the
    /// general sum, whose loops and tails cost more than the 20 bytes do.
    @inlinable
    public var headerChecksumIsValid: Bool {
        guard headerLength == Offset.minimumHeader else { return InternetChecksum.verifies(base, count: headerLength) }
        var total: UInt64 = 0
        for word in 0..<5 { total &+= UInt64(base.loadUnaligned(fromByteOffset: 4 * word, as: UInt32.self)) }
        // All ones in either byte order: the one's-complement sum is byte-order independent.
        return InternetChecksum.foldToUInt16(total) == 0xFFFF
    }

    /// What is wrong with the options (RFC 791 §3.1), if anything: an option that runs past the
    /// header or has a length below 2 makes them malformed; loose and strict source routes
    /// (types 131, 137) are options a router in a VPC would not honour. The walk stops at
    /// End of Option List. Nil for a header without options, or with sound ones.
    @inlinable
    public var optionsProblem: IPv4OptionsProblem? {
        var offset = Offset.minimumHeader
        while offset < headerLength {
            let type = base.readU8(at: offset)
            if type == IPv4OptionsProblem.endOfOptions { return nil }
            if type == IPv4OptionsProblem.noOperation {
                offset += 1
                continue
            }
            guard offset + 1 < headerLength else { return .malformed }
            let length = Int(base.readU8(at: offset + 1))
            guard length >= 2, offset + length <= headerLength else { return .malformed }
            if type == IPv4OptionsProblem.looseSourceRoute || type == IPv4OptionsProblem.strictSourceRoute {
                return .sourceRoute
            }
            offset += length
        }
        return nil
    }

    /// The pseudo-header sum for the transport checksum (RFC 9293 §3.1), over the whole datagram's
    /// transport length.
    @inlinable
    public var pseudoHeaderSum: UInt32 {
        InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, protocol: self.protocol,
            length: totalLength - headerLength)
    }

    /// Recomputes the header checksum from scratch.
    @inlinable
    public func updateHeaderChecksum() {
        InternetChecksum.store(base, count: headerLength, fieldOffset: Offset.checksum)
    }

    /// Rewrites the source address, keeping the header checksum and the transport checksum
    /// (TCP, UDP, which cover the pseudo-header) right by RFC 1624 incremental updates.
    @inlinable
    public func setSource(_ address: IPv4Address) {
        rewriteAddress(at: Offset.source, to: address)
    }

    /// Rewrites the destination address; checksums as for `setSource`.
    @inlinable
    public func setDestination(_ address: IPv4Address) {
        rewriteAddress(at: Offset.destination, to: address)
    }

    /// Sets the total length (the packet grew or shrank), keeping the header checksum right.
    @inlinable
    public func setTotalLength(_ length: Int) {
        let old = base.readU16(at: Offset.totalLength)
        base.writeU16(UInt16(truncatingIfNeeded: length), at: Offset.totalLength)
        base.writeU16(InternetChecksum.update(headerChecksum, old: old, new: UInt16(truncatingIfNeeded: length)), at: Offset.checksum)
    }

    /// Decrements the TTL with an incremental header-checksum update (RFC 1624 §4 example).
    @inlinable
    public func decrementTTL() {
        let oldWord = base.readU16(at: Offset.ttl)
        base.writeU8(ttl &- 1, at: Offset.ttl)
        let newWord = base.readU16(at: Offset.ttl)
        base.writeU16(InternetChecksum.update(headerChecksum, old: oldWord, new: newWord), at: Offset.checksum)
    }

    @inlinable
    func rewriteAddress(at offset: Int, to address: IPv4Address) {
        let old = base.readU32(at: offset)
        base.writeIPv4Address(address, at: offset)
        base.writeU16(InternetChecksum.update(headerChecksum, old: old, new: address.value), at: Offset.checksum)
        guard carriesTransportHeader else { return }
        TransportChecksum.adjust(
            protocol: self.protocol, segment: payload, delta: InternetChecksum.delta(old: old, new: address.value))
    }
}

/// Why a router would not forward a packet for its IPv4 options.
public enum IPv4OptionsProblem: Sendable, Equatable {
    /// A loose or strict source route (RFC 791 §3.1): the sender choosing the path.
    case sourceRoute
    /// An option whose length is below 2 or runs past the header.
    case malformed

    @usableFromInline static let endOfOptions: UInt8 = 0
    @usableFromInline static let noOperation: UInt8 = 1
    @usableFromInline static let looseSourceRoute: UInt8 = 131
    @usableFromInline static let strictSourceRoute: UInt8 = 137
}

/// Where the transport checksums that cover a pseudo-header sit, and how to adjust them in place.
public enum TransportChecksum {
    /// Offset of the checksum field in a transport header whose checksum covers the IP
    /// pseudo-header (TCP, UDP, ICMPv6), with the header bytes needed to reach it; nil otherwise.
    @inlinable @inline(__always)
    public static func fieldOffset(_ proto: IPProtocol) -> Int? {
        switch proto {
        case .tcp: return TCPSegment.Offset.checksum
        case .udp: return UDPDatagram.Offset.checksum
        case .icmpv6: return ICMPOffset.checksum
        default: return nil
        }
    }

    /// Applies a checksum `delta` (RFC 1624) to the transport checksum in `segment`, if it has one.
    /// A UDP checksum of zero means "none" over IPv4 (RFC 768) and is invalid over IPv6: either way
    /// a rewrite leaves it zero rather than invent one. An updated UDP checksum that comes out as
    /// zero is sent as 0xFFFF.
    @inlinable @inline(__always)
    public static func adjust(
        protocol proto: IPProtocol, segment: UnsafeMutableRawBufferPointer, delta: UInt32
    ) {
        guard let offset = fieldOffset(proto), segment.count >= offset + 2,
              let base = segment.nonEmptyBase else { return }
        let current = base.readU16(at: offset)
        if proto == .udp && current == 0 { return }
        var updated = InternetChecksum.apply(delta, to: current)
        if proto == .udp && updated == 0 { updated = 0xFFFF }
        base.writeU16(updated, at: offset)
    }
}
