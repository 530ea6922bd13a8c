// The Internet checksum: RFC 1071 (full sum) and RFC 1624 (incremental update).
//
// Sums are carried as `UInt32` values in "network value" space: the one's-complement sum of
// big-endian 16-bit words, not yet folded or complemented. `fold` and `finish` turn a sum into the
// field's value. The fast full sum adds 64-bit native-order words and swaps once at the end, which
// RFC 1071 §2(B) allows because the one's-complement sum is byte-order independent.

public enum InternetChecksum {
    /// The one's-complement sum of `count` bytes at `start`, an odd last byte padded with zero.
    ///
    /// 32-bit native-order words are added into four independent 64-bit accumulators, 32 bytes a
    /// round: no carry can be lost below 16 GiB, so the loop is plain additions with no
    /// carry chain between them, and the carries are folded back in once at the end. On this
    /// machine that is about 15x the plain 16-bit loop over 1500 bytes (Benchmarks/).
    @inlinable
    public static func sum(_ start: UnsafeRawPointer, count: Int) -> UInt32 {
        var a: UInt64 = 0
        var b: UInt64 = 0
        var c: UInt64 = 0
        var d: UInt64 = 0
        var offset = 0
        while offset + 32 <= count {
            let w = start.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let x = start.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
            let y = start.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)
            let z = start.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
            a &+= (w & 0xFFFF_FFFF) &+ (w >> 32)
            b &+= (x & 0xFFFF_FFFF) &+ (x >> 32)
            c &+= (y & 0xFFFF_FFFF) &+ (y >> 32)
            d &+= (z & 0xFFFF_FFFF) &+ (z >> 32)
            offset += 32
        }
        if offset + 16 <= count {
            let x = start.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let y = start.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
            a &+= (x & 0xFFFF_FFFF) &+ (x >> 32)
            b &+= (y & 0xFFFF_FFFF) &+ (y >> 32)
            offset += 16
        }
        var accumulator = (a &+ b) &+ (c &+ d)
        if offset + 8 <= count {
            let x = start.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            accumulator &+= (x & 0xFFFF_FFFF) &+ (x >> 32)
            offset += 8
        }
        if offset + 4 <= count {
            accumulator &+= UInt64(start.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            offset += 4
        }
        if offset + 2 <= count {
            accumulator &+= UInt64(start.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            offset += 2
        }
        if offset < count {
            // In native order the lone byte sits where a zero-padded word would put it.
            let byte = UInt16(start.load(fromByteOffset: offset, as: UInt8.self))
            accumulator &+= UInt64(UInt16(bigEndian: byte << 8))
        }
        let native = foldToUInt16(accumulator)
        return UInt32(UInt16(bigEndian: native))
    }

    @inlinable
    public static func sum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        return sum(base, count: bytes.count)
    }

    /// True when the checksum over `count` bytes at `start`, plus `pseudoHeaderSum`, verifies
    /// (the folded sum, field included, is all ones).
    @inlinable
    public static func verifies(_ start: UnsafeMutableRawPointer, count: Int, pseudoHeaderSum: UInt32 = 0) -> Bool {
        fold(add(pseudoHeaderSum, sum(UnsafeRawPointer(start), count: count))) == 0xFFFF
    }

    /// Computes the checksum of `count` bytes at `start` plus `pseudoHeaderSum`, with the field at
    /// `fieldOffset` taken as zero, and stores it there. Returns the value stored.
    @inlinable @discardableResult
    public static func store(
        _ start: UnsafeMutableRawPointer, count: Int, fieldOffset: Int, pseudoHeaderSum: UInt32 = 0
    ) -> UInt16 {
        start.writeU16(0, at: fieldOffset)
        let value = finish(add(pseudoHeaderSum, sum(UnsafeRawPointer(start), count: count)))
        start.writeU16(value, at: fieldOffset)
        return value
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

    /// A pseudo-header's sum from its addresses' sum (`addressSum(ofPacket:)`), for either
    /// family: the protocol and the length are added the same way in both.
    @inlinable
    public static func pseudoHeaderSum(addressSum: UInt32, protocol: IPProtocol, length: Int) -> UInt32 {
        add(add(addressSum, UInt32(`protocol`.rawValue)), UInt32(truncatingIfNeeded: length))
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

    /// The sum of an IP packet's source and destination addresses (the part of the pseudo-header
    /// a NAT changes); nil when the version is neither 4 nor 6.
    @inlinable
    public static func addressSum(ofPacket start: UnsafeRawPointer) -> UInt32? {
        switch start.load(as: UInt8.self) >> 4 {
        case 4: return UInt32(fold(sum(start + 12, count: 8)))
        case 6: return UInt32(fold(sum(start + 8, count: 32)))
        default: return nil
        }
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
    static func foldToUInt16(_ value: UInt64) -> UInt16 {
        var folded = (value & 0xFFFF_FFFF) + (value >> 32)
        folded = (folded & 0xFFFF) + (folded >> 16)
        folded = (folded & 0xFFFF) + (folded >> 16)
        folded = (folded & 0xFFFF) + (folded >> 16)
        return UInt16(truncatingIfNeeded: folded)
    }
}

/// Checksums a sender's kernel left for its device to finish.
public enum PartialChecksum {
    /// Completes the TCP or UDP checksum of the IP packet `bytes` when it holds only the
    /// pseudo-header sum: what a kernel leaves for a device with checksum offload (Linux's
    /// CHECKSUM_PARTIAL, virtio's NEEDS_CSUM), and what a capture on such a device records. Any
    /// other value is left alone (completing a checksum that verifies would not change it).
    /// Returns whether it completed one.
    @discardableResult
    public static func complete(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard let first = bytes.first else { return false }
        let proto: IPProtocol, segment: UnsafeMutableRawBufferPointer, pseudo: UInt32
        if first >> 4 == 4, let ip = try? IPv4Packet(bytes), !ip.isFragment {
            (proto, segment, pseudo) = (ip.protocol, ip.payload, ip.pseudoHeaderSum)
        } else if first >> 4 == 6, let ip = try? IPv6Packet(bytes), !ip.isFragment {
            (proto, segment, pseudo) = (ip.upperLayerProtocol, ip.upperLayer, ip.pseudoHeaderSum)
        } else {
            return false
        }
        guard proto == .tcp || proto == .udp, let offset = TransportChecksum.fieldOffset(proto),
              segment.count >= offset + 2, let base = segment.nonEmptyBase,
              base.readU16(at: offset) == InternetChecksum.fold(pseudo) else { return false }
        // The field holds the pseudo-header sum: the sum over the segment is the whole sum.
        var value = InternetChecksum.finish(InternetChecksum.sum(UnsafeRawPointer(base), count: segment.count))
        if proto == .udp && value == 0 { value = 0xFFFF }
        base.writeU16(value, at: offset)
        return true
    }
}
