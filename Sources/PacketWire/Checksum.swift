// The Internet checksum: RFC 1071 (full sum) and RFC 1624 (incremental update).
//
// Sums are carried as `UInt32` values in "network value" space: the one's-complement sum of
// big-endian 16-bit words, not yet folded or complemented. `fold` and `finish` turn a sum into the
// field's value. The fast full sum adds 64-bit native-order words and swaps once at the end, which
// RFC 1071 §2(B) allows because the one's-complement sum is byte-order independent.

public enum InternetChecksum {
    /// The one's-complement sum of `count` bytes at `start`, an odd last byte padded with zero.
    @inlinable
    public static func sum(_ start: UnsafeRawPointer, count: Int) -> UInt32 {
        var accumulator: UInt64 = 0
        var offset = 0
        // Four 64-bit words per round, end-around carry kept in the accumulator's overflow.
        while offset + 32 <= count {
            var carry: UInt64 = 0
            for word in 0..<4 {
                let (sum, overflow) = accumulator.addingReportingOverflow(
                    start.loadUnaligned(fromByteOffset: offset + 8 * word, as: UInt64.self))
                accumulator = sum
                carry &+= overflow ? 1 : 0
            }
            accumulator = addWithCarry(accumulator, carry)
            offset += 32
        }
        while offset + 8 <= count {
            accumulator = addWithCarry(
                accumulator, start.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset + 4 <= count {
            accumulator = addWithCarry(
                accumulator, UInt64(start.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
        }
        if offset + 2 <= count {
            accumulator = addWithCarry(
                accumulator, UInt64(start.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            offset += 2
        }
        if offset < count {
            // In native order the lone byte sits where a zero-padded word would put it.
            let byte = UInt16(start.load(fromByteOffset: offset, as: UInt8.self))
            accumulator = addWithCarry(accumulator, UInt64(UInt16(bigEndian: byte << 8)))
        }
        let native = foldToUInt16(accumulator)
        return UInt32(UInt16(bigEndian: native))
    }

    @inlinable
    public static func sum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        return sum(base, count: bytes.count)
    }

    /// The plain RFC 1071 loop over big-endian words; the reference the fast sum is tested against.
    public static func referenceSum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var total: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            total += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            total = (total & 0xFFFF) + (total >> 16)
            index += 2
        }
        if index < bytes.count {
            total += UInt32(bytes[index]) << 8
            total = (total & 0xFFFF) + (total >> 16)
        }
        return total
    }

    /// One's-complement addition of two partial sums.
    @inlinable @inline(__always)
    public static func add(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let total = UInt64(a) + UInt64(b)
        return UInt32(foldToUInt16(total))
    }

    /// Folds a partial sum into 16 bits with end-around carries.
    @inlinable @inline(__always)
    public static func fold(_ sum: UInt32) -> UInt16 {
        foldToUInt16(UInt64(sum))
    }

    /// The value to put in a checksum field: the complement of the folded sum.
    @inlinable @inline(__always)
    public static func finish(_ sum: UInt32) -> UInt16 {
        ~fold(sum)
    }

    /// The IPv4 pseudo-header of TCP and UDP (RFC 9293 §3.1, RFC 768).
    @inlinable
    public static func pseudoHeaderSum(
        source: IPv4Address, destination: IPv4Address, protocol: IPProtocol, length: Int
    ) -> UInt32 {
        var total: UInt64 = UInt64(source.value >> 16) + UInt64(source.value & 0xFFFF)
        total += UInt64(destination.value >> 16) + UInt64(destination.value & 0xFFFF)
        total += UInt64(`protocol`.rawValue) + UInt64(UInt32(truncatingIfNeeded: length) >> 16)
        total += UInt64(UInt32(truncatingIfNeeded: length) & 0xFFFF)
        return UInt32(foldToUInt16(total))
    }

    /// The IPv6 pseudo-header (RFC 8200 §8.1): addresses, 32-bit length, next header.
    @inlinable
    public static func pseudoHeaderSum(
        source: IPv6Address, destination: IPv6Address, protocol: IPProtocol, length: Int
    ) -> UInt32 {
        var total = UInt64(sumOfWords(source)) + UInt64(sumOfWords(destination))
        total += UInt64(UInt32(truncatingIfNeeded: length) >> 16)
        total += UInt64(UInt32(truncatingIfNeeded: length) & 0xFFFF)
        total += UInt64(`protocol`.rawValue)
        return UInt32(foldToUInt16(total))
    }

    /// RFC 1624 eqn. 3: the checksum after one 16-bit word changes from `old` to `new`,
    /// HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never turns a nonzero sum into 0x0000 wrongly.
    @inlinable @inline(__always)
    public static func update(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        apply(delta(old: old, new: new), to: checksum)
    }

    /// RFC 1624 for a 32-bit field (an IPv4 address, a sequence number).
    @inlinable @inline(__always)
    public static func update(_ checksum: UInt16, old: UInt32, new: UInt32) -> UInt16 {
        apply(delta(old: old, new: new), to: checksum)
    }

    /// RFC 1624 for an IPv6 address (eight 16-bit words).
    @inlinable @inline(__always)
    public static func update(_ checksum: UInt16, old: IPv6Address, new: IPv6Address) -> UInt16 {
        apply(delta(old: old, new: new), to: checksum)
    }

    /// The change `~m + m'` of RFC 1624 eqn. 3 when a 16-bit word goes from `old` to `new`;
    /// deltas add with `add`, so one delta can carry several rewritten fields.
    @inlinable @inline(__always)
    public static func delta(old: UInt16, new: UInt16) -> UInt32 {
        UInt32(foldToUInt16(UInt64(~old) + UInt64(new)))
    }

    @inlinable @inline(__always)
    public static func delta(old: UInt32, new: UInt32) -> UInt32 {
        var total = UInt64(~UInt16(truncatingIfNeeded: old >> 16)) + UInt64(~UInt16(truncatingIfNeeded: old))
        total += UInt64(UInt16(truncatingIfNeeded: new >> 16)) + UInt64(UInt16(truncatingIfNeeded: new))
        return UInt32(foldToUInt16(total))
    }

    @inlinable @inline(__always)
    public static func delta(old: IPv6Address, new: IPv6Address) -> UInt32 {
        UInt32(foldToUInt16(UInt64(~fold(sumOfWords(old))) + UInt64(sumOfWords(new))))
    }

    /// HC' = ~(~HC + delta).
    @inlinable @inline(__always)
    public static func apply(_ delta: UInt32, to checksum: UInt16) -> UInt16 {
        ~foldToUInt16(UInt64(~checksum) + UInt64(delta))
    }

    @inlinable @inline(__always)
    static func sumOfWords(_ address: IPv6Address) -> UInt32 {
        var total: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 16) {
            total += (address.high >> UInt64(shift)) & 0xFFFF
            total += (address.low >> UInt64(shift)) & 0xFFFF
        }
        return UInt32(foldToUInt16(total))
    }

    @inlinable @inline(__always)
    static func addWithCarry(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return sum &+ (overflow ? 1 : 0)
    }

    @inlinable @inline(__always)
    static func foldToUInt16(_ value: UInt64) -> UInt16 {
        var folded = (value & 0xFFFF_FFFF) + (value >> 32)
        folded = (folded & 0xFFFF) + (folded >> 16)
        folded = (folded & 0xFFFF) + (folded >> 16)
        folded = (folded & 0xFFFF) + (folded >> 16)
        return UInt16(truncatingIfNeeded: folded)
    }
}
