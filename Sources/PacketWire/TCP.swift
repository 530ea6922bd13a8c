// TCP (RFC 9293) header and options (MSS RFC 9293 §3.7.1, window scale and timestamps RFC 7323,
// SACK RFC 2018).

/// TCP control bits, as in the 9 low bits of the flags word (AE is RFC 3540's former NS bit).
@frozen
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x001)
    public static let syn = TCPFlags(rawValue: 0x002)
    public static let rst = TCPFlags(rawValue: 0x004)
    public static let psh = TCPFlags(rawValue: 0x008)
    public static let ack = TCPFlags(rawValue: 0x010)
    public static let urg = TCPFlags(rawValue: 0x020)
    public static let ece = TCPFlags(rawValue: 0x040)
    public static let cwr = TCPFlags(rawValue: 0x080)
    public static let ae = TCPFlags(rawValue: 0x100)

    /// tcpdump's letters: S F R P U E W, "." for ACK, "e" for AE.
    public var tcpdumpLetters: String {
        var text = ""
        if contains(.syn) { text += "S" }
        if contains(.fin) { text += "F" }
        if contains(.rst) { text += "R" }
        if contains(.psh) { text += "P" }
        if contains(.urg) { text += "U" }
        if contains(.ece) { text += "E" }
        if contains(.cwr) { text += "W" }
        if contains(.ae) { text += "e" }
        if contains(.ack) { text += "." }
        return text.isEmpty ? "none" : text
    }
}

/// A zero-copy view of a TCP segment.
@frozen
public struct TCPSegment {
    public enum Offset {
        public static let sourcePort = 0
        public static let destinationPort = 2
        public static let sequence = 4
        public static let acknowledgment = 8
        public static let dataOffsetFlags = 12
        public static let window = 14
        public static let checksum = 16
        public static let urgentPointer = 18
        public static let minimumHeader = 20
    }

    public let base: UnsafeMutableRawPointer
    public let count: Int
    /// Header length in bytes (data offset × 4), options included.
    public let headerLength: Int

    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard let base = bytes.nonEmptyBase, bytes.count >= Offset.minimumHeader else { throw .truncated }
        let headerLength = Int(base.readU8(at: Offset.dataOffsetFlags) >> 4) * 4
        guard headerLength >= Offset.minimumHeader else { throw .badDataOffset }
        guard headerLength <= bytes.count else { throw .badDataOffset }
        self.base = base
        self.count = bytes.count
        self.headerLength = headerLength
    }

    @inlinable public var sourcePort: UInt16 { base.readU16(at: Offset.sourcePort) }
    @inlinable public var destinationPort: UInt16 { base.readU16(at: Offset.destinationPort) }
    @inlinable public var sequenceNumber: UInt32 { base.readU32(at: Offset.sequence) }
    @inlinable public var acknowledgmentNumber: UInt32 { base.readU32(at: Offset.acknowledgment) }
    @inlinable public var flags: TCPFlags { TCPFlags(rawValue: base.readU16(at: Offset.dataOffsetFlags) & 0x01FF) }
    @inlinable public var window: UInt16 { base.readU16(at: Offset.window) }
    @inlinable public var checksum: UInt16 { base.readU16(at: Offset.checksum) }
    @inlinable public var urgentPointer: UInt16 { base.readU16(at: Offset.urgentPointer) }

    @inlinable
    public var options: TCPOptions {
        TCPOptions(base: base + Offset.minimumHeader, count: headerLength - Offset.minimumHeader)
    }

    @inlinable
    public var payload: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + headerLength, count: count - headerLength)
    }

    /// True when the checksum over the segment and `pseudoHeaderSum` verifies.
    @inlinable
    public func checksumIsValid(pseudoHeaderSum: UInt32) -> Bool {
        InternetChecksum.verifies(base, count: count, pseudoHeaderSum: pseudoHeaderSum)
    }

    /// Recomputes the checksum over the whole segment.
    @inlinable
    public func updateChecksum(pseudoHeaderSum: UInt32) {
        InternetChecksum.store(base, count: count, fieldOffset: Offset.checksum, pseudoHeaderSum: pseudoHeaderSum)
    }

    /// Rewrites the source port with an incremental checksum update.
    @inlinable
    public func setSourcePort(_ port: UInt16) { rewritePort(at: Offset.sourcePort, to: port) }

    /// Rewrites the destination port with an incremental checksum update.
    @inlinable
    public func setDestinationPort(_ port: UInt16) { rewritePort(at: Offset.destinationPort, to: port) }

    @inlinable
    func rewritePort(at offset: Int, to port: UInt16) {
        let old = base.readU16(at: offset)
        base.writeU16(port, at: offset)
        TransportChecksum.adjust(protocol: .tcp, segment: UnsafeMutableRawBufferPointer(start: base, count: count),
                                 delta: InternetChecksum.delta(old: old, new: port))
    }
}

/// One TCP option as read from the header.
public enum TCPOption: Equatable, Sendable {
    case endOfList
    case noOperation
    case maximumSegmentSize(UInt16)
    case windowScale(UInt8)
    case sackPermitted
    /// Number of SACK blocks.
    case sack(blocks: Int)
    case timestamps(value: UInt32, echoReply: UInt32)
    case unknown(kind: UInt8, length: Int)
    /// A length byte that is missing, below 2, past the header, or wrong for its kind; iteration
    /// stops after it.
    case malformed(kind: UInt8)
}

/// The options area of a TCP header. Iteration stops at end-of-list, at the end of the area, or
/// after a malformed option; it never reads past the header.
public typealias TCPOptions = OptionList<TCPOptionWalk>

public enum TCPOptionWalk: OptionWalk {
    @inlinable
    public static func next(_ base: UnsafeMutableRawPointer, count: Int, offset: inout Int) -> TCPOption? {
        let kind = base.readU8(at: offset)
        switch kind {
        case 0:
            offset = count
            return .endOfList
        case 1:
            offset += 1
            return .noOperation
        default:
            guard offset + 2 <= count else {
                offset = count
                return .malformed(kind: kind)
            }
            let length = Int(base.readU8(at: offset + 1))
            guard length >= 2, offset + length <= count else {
                offset = count
                return .malformed(kind: kind)
            }
            let start = offset + 2
            offset += length
            switch (kind, length) {
            case (2, 4): return .maximumSegmentSize(base.readU16(at: start))
            case (3, 3): return .windowScale(base.readU8(at: start))
            case (4, 2): return .sackPermitted
            case (5, _) where (length - 2) % 8 == 0 && length > 2: return .sack(blocks: (length - 2) / 8)
            case (8, 10): return .timestamps(value: base.readU32(at: start), echoReply: base.readU32(at: start + 4))
            case (2, _), (3, _), (4, _), (5, _), (8, _):
                offset = count
                return .malformed(kind: kind)
            default: return .unknown(kind: kind, length: length)
            }
        }
    }
}
