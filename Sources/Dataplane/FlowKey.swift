import PacketWire

/// The 5-tuple of one direction of a flow, IPv4 addresses held as IPv4-mapped IPv6
/// (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) so that both families share one layout: 40 bytes.
@frozen
public struct FlowKey: Equatable, Sendable {
    public var sourceHigh: UInt64
    public var sourceLow: UInt64
    public var destinationHigh: UInt64
    public var destinationLow: UInt64
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var proto: UInt8
    /// 4 or 6: an IPv4-mapped IPv6 address and an IPv4 address are different flows.
    public var family: UInt8
    @usableFromInline var padding: UInt16 = 0

    @inlinable
    public init(source: IPv6Address, destination: IPv6Address, sourcePort: UInt16, destinationPort: UInt16,
                proto: IPProtocol) {
        sourceHigh = source.high
        sourceLow = source.low
        destinationHigh = destination.high
        destinationLow = destination.low
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.proto = proto.rawValue
        family = 6
    }

    @inlinable
    public init(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
                proto: IPProtocol) {
        sourceHigh = 0
        sourceLow = FlowKey.mappedPrefix | UInt64(source.value)
        destinationHigh = 0
        destinationLow = FlowKey.mappedPrefix | UInt64(destination.value)
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.proto = proto.rawValue
        family = 4
    }

    @usableFromInline static let mappedPrefix: UInt64 = 0x0000_FFFF_0000_0000

    @inlinable public var isIPv4: Bool { family == 4 }
    @inlinable public var sourceIPv4: IPv4Address { IPv4Address(UInt32(truncatingIfNeeded: sourceLow)) }
    @inlinable public var destinationIPv4: IPv4Address { IPv4Address(UInt32(truncatingIfNeeded: destinationLow)) }
    @inlinable public var sourceIPv6: IPv6Address { IPv6Address(high: sourceHigh, low: sourceLow) }
    @inlinable public var destinationIPv6: IPv6Address { IPv6Address(high: destinationHigh, low: destinationLow) }
    @inlinable public var ipProtocol: IPProtocol { IPProtocol(rawValue: proto) }

    /// The same flow seen from the other end: addresses and ports swapped.
    @inlinable
    public var reversed: FlowKey {
        var key = self
        key.sourceHigh = destinationHigh
        key.sourceLow = destinationLow
        key.destinationHigh = sourceHigh
        key.destinationLow = sourceLow
        key.sourcePort = destinationPort
        key.destinationPort = sourcePort
        return key
    }

    /// A seeded 64-bit hash of the key (deterministic: the same seed gives the same hash on every
    /// run and machine): two independent 64×64→128 multiply-folds of the five words, in the style
    /// of wyhash, whose results are combined by a third.
    @inlinable @inline(__always)
    public func hash(seed: UInt64) -> UInt64 {
        let ports = UInt64(sourcePort) << 48 | UInt64(destinationPort) << 32 | UInt64(proto) << 8 | UInt64(family)
        let low = FlowHash.mix(sourceLow ^ seed, destinationLow ^ ports)
        let high = FlowHash.mix(sourceHigh ^ seed ^ 0x9E37_79B9_7F4A_7C15, destinationHigh)
        return FlowHash.mix(low, high ^ ports)
    }
}

/// The hash functions of the dataplane: seeded, reproducible, never Swift's `Hasher`.
public enum FlowHash {
    /// 64×64→128 multiply, folded: the mixing step of wyhash.
    @inlinable @inline(__always)
    public static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = (a ^ 0xA076_1D64_78BD_642F).multipliedFullWidth(by: b ^ 0xE703_7ED1_A0B4_28DB)
        return product.high ^ product.low
    }

    /// SplitMix64's finaliser.
    @inlinable @inline(__always)
    public static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The NLB's target-choice hash: the 5-tuple and, for TCP, the client's initial sequence
    /// number (docs/aws-behaviour.md §1).
    @inlinable
    public static func targetChoice(_ key: FlowKey, initialSequence: UInt32, seed: UInt64) -> UInt64 {
        finalize(key.hash(seed: seed) ^ (UInt64(initialSequence) &* 0x9E37_79B9_7F4A_7C15))
    }

    /// A symmetric hash: a flow and its reply hash alike (for the GWLB's appliance choice).
    /// The two endpoints are ordered before hashing.
    @inlinable
    public static func symmetric(_ key: FlowKey, seed: UInt64) -> UInt64 {
        let forward = (key.sourceHigh, key.sourceLow, key.sourcePort)
        let backward = (key.destinationHigh, key.destinationLow, key.destinationPort)
        let ordered = forward < backward ? key : key.reversed
        return ordered.hash(seed: seed)
    }
}
