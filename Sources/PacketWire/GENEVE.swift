// GENEVE (RFC 8926): an 8-byte base header, then options as TLVs, then the inner payload.
// The options must exactly fill the length the base header declares (RFC 8926 §3.5).

/// A zero-copy view of a GENEVE header and what it carries.
@frozen
public struct GENEVEHeader {
    public enum Offset {
        public static let versionOptionLength = 0
        public static let flags = 1
        public static let protocolType = 2
        public static let vni = 4
        public static let base = 8
    }

    /// UDP destination port assigned by IANA to GENEVE.
    public static let udpPort: UInt16 = 6081

    public let base: UnsafeMutableRawPointer
    public let count: Int
    /// Base header plus options, in bytes.
    public let headerLength: Int

    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard let base = bytes.nonEmptyBase, bytes.count >= Offset.base else { throw .truncated }
        let first = base.readU8(at: Offset.versionOptionLength)
        guard first >> 6 == 0 else { throw .badVersion }
        let headerLength = Offset.base + Int(first & 0x3F) * 4
        guard headerLength <= bytes.count else { throw .truncated }
        var offset = Offset.base
        while offset < headerLength {
            guard offset + GENEVEOption.headerLength <= headerLength else { throw .badGENEVEOptions }
            let length = GENEVEOption.headerLength + Int(base.readU8(at: offset + 3) & 0x1F) * 4
            guard offset + length <= headerLength else { throw .badGENEVEOptions }
            offset += length
        }
        self.base = base
        self.count = bytes.count
        self.headerLength = headerLength
    }

    @inlinable public var version: UInt8 { base.readU8(at: Offset.versionOptionLength) >> 6 }
    /// Length of the options in bytes.
    @inlinable public var optionsLength: Int { headerLength - Offset.base }
    /// O bit: an OAM (control) packet.
    @inlinable public var isOAM: Bool { base.readU8(at: Offset.flags) & 0x80 != 0 }
    /// C bit: critical options are present.
    @inlinable public var hasCriticalOptions: Bool { base.readU8(at: Offset.flags) & 0x40 != 0 }
    @inlinable public var protocolType: EtherType { EtherType(rawValue: base.readU16(at: Offset.protocolType)) }
    @inlinable public var vni: UInt32 { base.readU32(at: Offset.vni) >> 8 }

    @inlinable
    public var options: GENEVEOptions {
        GENEVEOptions(base: base + Offset.base, count: optionsLength)
    }

    @inlinable
    public var payload: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + headerLength, count: count - headerLength)
    }
}

/// One GENEVE option TLV: class, type (its high bit marks it critical), and data.
@frozen
public struct GENEVEOption {
    public static let headerLength = 4

    public let base: UnsafeMutableRawPointer

    @inlinable
    init(base: UnsafeMutableRawPointer) { self.base = base }

    @inlinable public var optionClass: UInt16 { base.readU16(at: 0) }
    @inlinable public var type: UInt8 { base.readU8(at: 2) }
    @inlinable public var isCritical: Bool { type & 0x80 != 0 }
    /// Length of the data in bytes (the field counts 4-byte words).
    @inlinable public var dataLength: Int { Int(base.readU8(at: 3) & 0x1F) * 4 }

    @inlinable
    public var data: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + GENEVEOption.headerLength, count: dataLength)
    }
}

/// The options of a validated GENEVE header, in order.
public typealias GENEVEOptions = OptionList<GENEVEOptionWalk>

public enum GENEVEOptionWalk: OptionWalk {
    /// The header's initialiser proved that the options tile the area exactly.
    @inlinable
    public static func next(_ base: UnsafeMutableRawPointer, count: Int, offset: inout Int) -> GENEVEOption? {
        let option = GENEVEOption(base: base + offset)
        offset += GENEVEOption.headerLength + option.dataLength
        return option
    }
}
