// ICMP for IPv4 (RFC 792, RFC 1191 for the next-hop MTU) and ICMPv6 (RFC 4443).
// An error message quotes the packet that caused it after its 8-byte header; the quoted packet
// is reachable as a view that tolerates a cut-short payload.

/// A zero-copy view of an ICMPv4 message.
@frozen
public struct ICMPv4Message {
    public enum Offset {
        public static let type = 0
        public static let code = 1
        public static let checksum = 2
        public static let identifier = 4
        public static let sequence = 6
        public static let nextHopMTU = 6
        public static let header = 8
    }

    public enum MessageType {
        public static let echoReply: UInt8 = 0
        public static let destinationUnreachable: UInt8 = 3
        public static let redirect: UInt8 = 5
        public static let echoRequest: UInt8 = 8
        public static let timeExceeded: UInt8 = 11
        public static let parameterProblem: UInt8 = 12
    }

    public let base: UnsafeMutableRawPointer
    public let count: Int

    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard let base = bytes.nonEmptyBase, bytes.count >= Offset.header else { throw .truncated }
        self.base = base
        self.count = bytes.count
    }

    @inlinable public var type: UInt8 { base.readU8(at: Offset.type) }
    @inlinable public var code: UInt8 { base.readU8(at: Offset.code) }
    @inlinable public var checksum: UInt16 { base.readU16(at: Offset.checksum) }
    /// Echo identifier (meaningful for echo request and reply).
    @inlinable public var identifier: UInt16 { base.readU16(at: Offset.identifier) }
    @inlinable public var sequenceNumber: UInt16 { base.readU16(at: Offset.sequence) }
    /// Next-hop MTU of "fragmentation needed" (type 3 code 4, RFC 1191).
    @inlinable public var nextHopMTU: UInt16 { base.readU16(at: Offset.nextHopMTU) }

    @inlinable
    public var isError: Bool {
        switch type {
        case MessageType.destinationUnreachable, MessageType.redirect, MessageType.timeExceeded,
             MessageType.parameterProblem: return true
        default: return false
        }
    }

    @inlinable
    public var body: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + Offset.header, count: count - Offset.header)
    }

    /// The packet an error message quotes, or nil for a non-error or an unreadable quote.
    @inlinable
    public var quotedPacket: IPv4Packet? {
        guard isError else { return nil }
        return try? IPv4Packet(quoted: body)
    }

    @inlinable
    public var checksumIsValid: Bool {
        InternetChecksum.fold(InternetChecksum.sum(UnsafeRawPointer(base), count: count)) == 0xFFFF
    }

    @inlinable
    public func updateChecksum() {
        base.writeU16(0, at: Offset.checksum)
        base.writeU16(InternetChecksum.finish(InternetChecksum.sum(UnsafeRawPointer(base), count: count)),
                      at: Offset.checksum)
    }

    /// tcpdump's words for the type.
    public var typeName: String {
        switch type {
        case MessageType.echoReply: return "echo reply"
        case MessageType.echoRequest: return "echo request"
        case MessageType.destinationUnreachable:
            return code == 4 ? "unreachable - need to frag (mtu \(nextHopMTU))" : "unreachable code \(code)"
        case MessageType.redirect: return "redirect"
        case MessageType.timeExceeded: return "time exceeded in-transit"
        case MessageType.parameterProblem: return "parameter problem"
        default: return "type \(type)"
        }
    }
}

/// A zero-copy view of an ICMPv6 message.
@frozen
public struct ICMPv6Message {
    public enum Offset {
        public static let type = 0
        public static let code = 1
        public static let checksum = 2
        public static let identifier = 4
        public static let sequence = 6
        public static let mtu = 4
        public static let header = 8
    }

    public enum MessageType {
        public static let destinationUnreachable: UInt8 = 1
        public static let packetTooBig: UInt8 = 2
        public static let timeExceeded: UInt8 = 3
        public static let parameterProblem: UInt8 = 4
        public static let echoRequest: UInt8 = 128
        public static let echoReply: UInt8 = 129
    }

    public let base: UnsafeMutableRawPointer
    public let count: Int

    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard let base = bytes.nonEmptyBase, bytes.count >= Offset.header else { throw .truncated }
        self.base = base
        self.count = bytes.count
    }

    @inlinable public var type: UInt8 { base.readU8(at: Offset.type) }
    @inlinable public var code: UInt8 { base.readU8(at: Offset.code) }
    @inlinable public var checksum: UInt16 { base.readU16(at: Offset.checksum) }
    @inlinable public var identifier: UInt16 { base.readU16(at: Offset.identifier) }
    @inlinable public var sequenceNumber: UInt16 { base.readU16(at: Offset.sequence) }
    /// MTU of "packet too big" (type 2).
    @inlinable public var mtu: UInt32 { base.readU32(at: Offset.mtu) }
    /// Error messages are types 0...127 (RFC 4443 §2.1).
    @inlinable public var isError: Bool { type < 128 }

    @inlinable
    public var body: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + Offset.header, count: count - Offset.header)
    }

    @inlinable
    public var quotedPacket: IPv6Packet? {
        guard isError else { return nil }
        return try? IPv6Packet(quoted: body)
    }

    @inlinable
    public func checksumIsValid(pseudoHeaderSum: UInt32) -> Bool {
        let total = InternetChecksum.add(pseudoHeaderSum, InternetChecksum.sum(UnsafeRawPointer(base), count: count))
        return InternetChecksum.fold(total) == 0xFFFF
    }

    @inlinable
    public func updateChecksum(pseudoHeaderSum: UInt32) {
        base.writeU16(0, at: Offset.checksum)
        let total = InternetChecksum.add(pseudoHeaderSum, InternetChecksum.sum(UnsafeRawPointer(base), count: count))
        base.writeU16(InternetChecksum.finish(total), at: Offset.checksum)
    }

    public var typeName: String {
        switch type {
        case MessageType.destinationUnreachable: return "destination unreachable code \(code)"
        case MessageType.packetTooBig: return "packet too big, mtu \(mtu)"
        case MessageType.timeExceeded: return "time exceeded in-transit"
        case MessageType.parameterProblem: return "parameter problem"
        case MessageType.echoRequest: return "echo request"
        case MessageType.echoReply: return "echo reply"
        default: return "type \(type)"
        }
    }
}
