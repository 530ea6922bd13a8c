// Address prefixes (CIDR blocks, RFC 4632; IPv6 RFC 4291 §2.3): what subnets, routes and rules are
// made of.

/// What IPv4 and IPv6 prefixes share: text in and out, and the host-bits check.
public protocol AddressPrefix: Hashable, Sendable, CustomStringConvertible {
    associatedtype Address: Equatable
    /// "IPv4" or "IPv6", for messages.
    static var familyName: String { get }
    /// A prefix to show as an example in messages.
    static var example: String { get }
    var network: Address { get }
    init(containing address: Address, length: Int)
    /// The address and length of "address/length" text, host bits or not.
    static func components(_ text: String) -> (Address, Int)?
}

extension AddressPrefix {
    /// "address/length" text; nil when it is not one, or when bits past the length are set
    /// (`hostBitsSet` tells that case apart).
    public init?(_ text: String) {
        guard let (address, length) = Self.components(text) else { return nil }
        self.init(containing: address, length: length)
        guard network == address else { return nil }
    }

    /// True for text like "10.0.0.1/16": a prefix whose address has bits set past its length.
    public static func hostBitsSet(_ text: String) -> Bool {
        guard let (address, length) = components(text) else { return false }
        return Self(containing: address, length: length).network != address
    }
}

/// An IPv4 prefix: a network address and a length 0...32. Bits past the length are zero.
@frozen
public struct IPv4Prefix: AddressPrefix {
    public static let familyName = "IPv4"
    public static let example = "10.0.0.0/16"

    public let network: IPv4Address
    public let length: Int

    /// The prefix of `length` bits containing `address` (host bits cleared).
    @inlinable
    public init(containing address: IPv4Address, length: Int) {
        precondition((0...32).contains(length), "an IPv4 prefix length is 0...32")
        self.length = length
        self.network = IPv4Address(address.value & IPv4Prefix.mask(length))
    }

    public static func components(_ text: String) -> (IPv4Address, Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parts[0]), parts[1].count <= 2,
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]),
              (0...32).contains(length) else { return nil }
        return (address, length)
    }

    @inlinable
    public static func mask(_ length: Int) -> UInt32 {
        length == 0 ? 0 : UInt32.max << UInt32(32 - length)
    }

    @inlinable public var mask: UInt32 { IPv4Prefix.mask(length) }
    @inlinable public var first: IPv4Address { network }
    @inlinable public var last: IPv4Address { IPv4Address(network.value | ~mask) }
    /// Number of addresses, as a 64-bit count (2^32 for /0).
    @inlinable public var size: UInt64 { UInt64(1) << UInt64(32 - length) }

    @inlinable
    public func contains(_ address: IPv4Address) -> Bool { address.value & mask == network.value }

    @inlinable
    public func contains(_ other: IPv4Prefix) -> Bool { other.length >= length && contains(other.network) }

    @inlinable
    public func overlaps(_ other: IPv4Prefix) -> Bool { contains(other.network) || other.contains(network) }

    /// The address `offset` places after the network address.
    @inlinable
    public func address(at offset: UInt64) -> IPv4Address { IPv4Address(network.value &+ UInt32(truncatingIfNeeded: offset)) }

    public var description: String { "\(network)/\(length)" }
}

/// An IPv6 prefix: a network address and a length 0...128. Bits past the length are zero.
@frozen
public struct IPv6Prefix: AddressPrefix {
    public static let familyName = "IPv6"
    public static let example = "fd00:1::/56"

    public let network: IPv6Address
    public let length: Int

    @inlinable
    public init(containing address: IPv6Address, length: Int) {
        precondition((0...128).contains(length), "an IPv6 prefix length is 0...128")
        self.length = length
        let (high, low) = IPv6Prefix.mask(length)
        self.network = IPv6Address(high: address.high & high, low: address.low & low)
    }

    public init?(_ text: String) {
        guard let (address, length) = IPv6Prefix.components(text) else { return nil }
        let (high, low) = IPv6Prefix.mask(length)
        guard address.high & high == address.high, address.low & low == address.low else { return nil }
        self.init(containing: address, length: length)
    }

    public static func hostBitsSet(_ text: String) -> Bool {
        guard let (address, length) = components(text) else { return false }
        let (high, low) = mask(length)
        return address.high & high != address.high || address.low & low != address.low
    }

    /// The address and length of "address/length" text, host bits or not.
    public static func components(_ text: String) -> (IPv6Address, Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv6Address(parts[0]), parts[1].count <= 3,
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]),
              (0...128).contains(length) else { return nil }
        return (address, length)
    }

    @inlinable
    public static func mask(_ length: Int) -> (high: UInt64, low: UInt64) {
        let high: UInt64 = length == 0 ? 0 : (length >= 64 ? UInt64.max : UInt64.max << UInt64(64 - length))
        let low: UInt64 = length <= 64 ? 0 : (length == 128 ? UInt64.max : UInt64.max << UInt64(128 - length))
        return (high, low)
    }

    @inlinable
    public func contains(_ address: IPv6Address) -> Bool {
        let (high, low) = IPv6Prefix.mask(length)
        return address.high & high == network.high && address.low & low == network.low
    }

    @inlinable
    public func contains(_ other: IPv6Prefix) -> Bool { other.length >= length && contains(other.network) }

    @inlinable
    public func overlaps(_ other: IPv6Prefix) -> Bool { contains(other.network) || other.contains(network) }

    @inlinable
    public var last: IPv6Address {
        let (high, low) = IPv6Prefix.mask(length)
        return IPv6Address(high: network.high | ~high, low: network.low | ~low)
    }

    /// The address `offset` places after the network address (offsets fit the low 64 bits).
    @inlinable
    public func address(at offset: UInt64) -> IPv6Address {
        let (low, carry) = network.low.addingReportingOverflow(offset)
        return IPv6Address(high: network.high &+ (carry ? 1 : 0), low: low)
    }

    public var description: String { "\(network)/\(length)" }
}
