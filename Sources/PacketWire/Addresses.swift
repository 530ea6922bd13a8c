// Addresses as plain values: no Foundation, no allocation to compare or hash them.

/// An IPv4 address; `value` holds it in host byte order (10.0.0.1 is 0x0A000001).
@frozen
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    @inlinable
    public init(_ value: UInt32) { self.value = value }

    @inlinable
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Dotted-quad text, strictly four decimal parts 0...255 without leading zeros.
    public init?(_ text: Substring) {
        var parts: [UInt32] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part.count == 1 || part.first != "0",
                  let number = UInt32(part), number <= 255 else { return nil }
            parts.append(number)
        }
        guard parts.count == 4 else { return nil }
        value = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]
    }

    public init?(_ text: String) { self.init(text[...]) }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    @inlinable
    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// An IPv6 address as two 64-bit halves in host byte order (`high` holds the first 8 bytes).
@frozen
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The eight 16-bit groups, most significant first.
    public init(groups: [UInt16]) {
        precondition(groups.count == 8, "an IPv6 address has eight groups")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<4 { high = high << 16 | UInt64(groups[index]) }
        for index in 4..<8 { low = low << 16 | UInt64(groups[index]) }
        self.init(high: high, low: low)
    }

    public var groups: [UInt16] {
        (0..<8).map { index in
            let half = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(index % 4)))
        }
    }

    /// RFC 4291 §2.2 text: full, `::`-compressed, or with an embedded IPv4 tail.
    public init?(_ text: Substring) {
        let halves = text.split(separator: ":", omittingEmptySubsequences: false)
        guard halves.count >= 3 || text.contains(":") else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        var pieces = Array(halves)
        // A leading or trailing "::" yields two empty pieces at that end; keep one.
        if text.hasPrefix("::") { pieces.removeFirst() }
        if text.hasSuffix("::") { pieces.removeLast() }
        for (index, piece) in pieces.enumerated() {
            if piece.isEmpty {
                if sawGap { return nil }
                sawGap = true
                continue
            }
            var groups: [UInt16]
            if index == pieces.count - 1, piece.contains(".") {
                guard let v4 = IPv4Address(piece) else { return nil }
                groups = [UInt16(v4.value >> 16), UInt16(v4.value & 0xFFFF)]
            } else {
                guard piece.count <= 4, let group = UInt16(piece, radix: 16) else { return nil }
                groups = [group]
            }
            if sawGap { tail += groups } else { head += groups }
        }
        let total = head.count + tail.count
        if sawGap {
            guard total <= 7 else { return nil }
            self.init(groups: head + Array(repeating: 0, count: 8 - total) + tail)
        } else {
            guard total == 8 else { return nil }
            self.init(groups: head)
        }
    }

    public init?(_ text: String) { self.init(text[...]) }

    /// RFC 5952 canonical text: lowercase, longest run (2 groups or more) of zeros as `::`.
    public var description: String {
        let groups = self.groups
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index > bestLength {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            } else {
                index += 1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    @inlinable
    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

/// A 48-bit Ethernet MAC address in the low bits of `value`.
@frozen
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64

    @inlinable
    public init(_ value: UInt64) { self.value = value & 0xFFFF_FFFF_FFFF }

    /// Colon-separated hex, six octets.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == 2, let octet = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(octet)
        }
        self.value = value
    }

    public var description: String {
        (0..<6).map { index in
            let octet = UInt8(truncatingIfNeeded: value >> (40 - 8 * UInt64(index)))
            let text = String(octet, radix: 16)
            return octet < 16 ? "0" + text : text
        }.joined(separator: ":")
    }
}

extension UnsafeMutableRawPointer {
    @inlinable @inline(__always)
    func readIPv4Address(at offset: Int) -> IPv4Address {
        IPv4Address(readU32(at: offset))
    }

    @inlinable @inline(__always)
    func writeIPv4Address(_ address: IPv4Address, at offset: Int) {
        writeU32(address.value, at: offset)
    }

    @inlinable @inline(__always)
    func readIPv6Address(at offset: Int) -> IPv6Address {
        IPv6Address(high: readU64(at: offset), low: readU64(at: offset + 8))
    }

    @inlinable @inline(__always)
    func writeIPv6Address(_ address: IPv6Address, at offset: Int) {
        writeU64(address.high, at: offset)
        writeU64(address.low, at: offset + 8)
    }

    @inlinable @inline(__always)
    func readMACAddress(at offset: Int) -> MACAddress {
        MACAddress(UInt64(readU16(at: offset)) << 32 | UInt64(readU32(at: offset + 2)))
    }

    @inlinable @inline(__always)
    func writeMACAddress(_ address: MACAddress, at offset: Int) {
        writeU16(UInt16(truncatingIfNeeded: address.value >> 32), at: offset)
        writeU32(UInt32(truncatingIfNeeded: address.value), at: offset + 2)
    }
}
