// ICMP for IPv4 (RFC 792, RFC 1191 for the next-hop MTU) and ICMPv6 (RFC 4443).
// Both share an 8-byte header: type, code, checksum, and 4 bytes whose meaning depends on the type
// (echo identifier and sequence, an MTU, unused). An error message then quotes the packet that
// caused it; the quoted packet is reachable as a view that tolerates a cut-short payload.

/// Field offsets shared by ICMP and ICMPv6.
public enum ICMPOffset {
    public static let type = 0
    public static let code = 1
    public static let checksum = 2
    public static let identifier = 4
    public static let sequence = 6
    public static let restOfHeader = 4
    public static let header = 8
}

/// What ICMPv4 and ICMPv6 views have in common. Generic code over it is specialised: no
/// existential is made.
public protocol ICMPMessage {
    var base: UnsafeMutableRawPointer { get }
    var count: Int { get }
    /// An error message, which quotes the packet it is about.
    var isError: Bool { get }
    /// An echo request or reply, whose header carries an identifier and a sequence number.
    var isEcho: Bool { get }
    /// tcpdump's words for the type.
    var typeName: String { get }
    /// "source > destination protocol" of the quoted packet, for text output.
    var quotedSummary: String? { get }
}

extension ICMPMessage {
    @inlinable public var type: UInt8 { base.readU8(at: ICMPOffset.type) }
    @inlinable public var code: UInt8 { base.readU8(at: ICMPOffset.code) }
    @inlinable public var checksum: UInt16 { base.readU16(at: ICMPOffset.checksum) }
    /// Echo identifier (meaningful for echo request and reply).
    @inlinable public var identifier: UInt16 { base.readU16(at: ICMPOffset.identifier) }
    @inlinable public var sequenceNumber: UInt16 { base.readU16(at: ICMPOffset.sequence) }

    /// What follows the 8-byte header: echo data, or the quoted packet of an error.
    @inlinable
    public var body: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + ICMPOffset.header, count: count - ICMPOffset.header)
    }
}

/// A zero-copy view of an ICMPv4 message.
@frozen
public struct ICMPv4Message: ICMPMessage {
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
        guard let base = bytes.nonEmptyBase, bytes.count >= ICMPOffset.header else { throw .truncated }
        self.base = base
        self.count = bytes.count
    }

    /// Next-hop MTU of "fragmentation needed" (type 3 code 4, RFC 1191).
    @inlinable public var nextHopMTU: UInt16 { base.readU16(at: ICMPOffset.sequence) }

    @inlinable
    public var isError: Bool {
        switch type {
        case MessageType.destinationUnreachable, MessageType.redirect, MessageType.timeExceeded,
             MessageType.parameterProblem: return true
        default: return false
        }
    }

    @inlinable
    public var isEcho: Bool { type == MessageType.echoRequest || type == MessageType.echoReply }

    /// The packet an error message quotes, or nil for a non-error or an unreadable quote.
    @inlinable
    public var quotedPacket: IPv4Packet? {
        guard isError else { return nil }
        return try? IPv4Packet(quoted: body)
    }

    /// ICMPv4's checksum covers the message alone (RFC 792).
    @inlinable
    public var checksumIsValid: Bool { InternetChecksum.verifies(base, count: count) }

    @inlinable
    public func updateChecksum() {
        InternetChecksum.store(base, count: count, fieldOffset: ICMPOffset.checksum)
    }

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

    public var quotedSummary: String? {
        quotedPacket.map { "\($0.source) > \($0.destination) \($0.protocol.name)" }
    }
}

/// A zero-copy view of an ICMPv6 message.
@frozen
public struct ICMPv6Message: ICMPMessage {
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
        guard let base = bytes.nonEmptyBase, bytes.count >= ICMPOffset.header else { throw .truncated }
        self.base = base
        self.count = bytes.count
    }

    /// MTU of "packet too big" (type 2).
    @inlinable public var mtu: UInt32 { base.readU32(at: ICMPOffset.restOfHeader) }
    /// Error messages are types 0...127 (RFC 4443 §2.1).
    @inlinable public var isError: Bool { type < 128 }
    @inlinable
    public var isEcho: Bool { type == MessageType.echoRequest || type == MessageType.echoReply }

    @inlinable
    public var quotedPacket: IPv6Packet? {
        guard isError else { return nil }
        return try? IPv6Packet(quoted: body)
    }

    /// ICMPv6's checksum covers the IPv6 pseudo-header too (RFC 4443 §2.3).
    @inlinable
    public func checksumIsValid(pseudoHeaderSum: UInt32) -> Bool {
        InternetChecksum.verifies(base, count: count, pseudoHeaderSum: pseudoHeaderSum)
    }

    @inlinable
    public func updateChecksum(pseudoHeaderSum: UInt32) {
        InternetChecksum.store(base, count: count, fieldOffset: ICMPOffset.checksum, pseudoHeaderSum: pseudoHeaderSum)
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

    public var quotedSummary: String? {
        quotedPacket.map { "\($0.source) > \($0.destination) \($0.upperLayerProtocol.name)" }
    }
}
