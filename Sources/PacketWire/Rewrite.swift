// Rewrites that a translating dataplane does on every packet, each in one pass with one
// incremental checksum update per checksum (RFC 1624).

extension IPv4Packet {
    /// Rewrites both addresses and, for TCP and UDP, both ports. The header checksum and the
    /// transport checksum are updated incrementally; a later fragment has no ports to rewrite.
    @inlinable
    public func rewriteFlow(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16) {
        let oldSource = base.readU32(at: Offset.source)
        let oldDestination = base.readU32(at: Offset.destination)
        let addressDelta = InternetChecksum.add(InternetChecksum.delta(old: oldSource, new: source.value),
                                                InternetChecksum.delta(old: oldDestination, new: destination.value))
        base.writeU32(source.value, at: Offset.source)
        base.writeU32(destination.value, at: Offset.destination)
        base.writeU16(InternetChecksum.apply(addressDelta, to: headerChecksum), at: Offset.checksum)
        guard carriesTransportHeader else { return }
        FlowPorts.rewrite(protocol: self.protocol, segment: payload, addressDelta: addressDelta,
                          sourcePort: sourcePort, destinationPort: destinationPort)
    }
}

extension IPv4Packet {
    /// `rewriteFlow` with the checksum changes worked out beforehand: a translating session
    /// always changes the same old values into the same new ones, so its deltas are constant.
    @inlinable @inline(__always)
    public func rewriteFlow(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
                            headerDelta: UInt32, transportDelta: UInt32) {
        base.writeU32(source.value, at: Offset.source)
        base.writeU32(destination.value, at: Offset.destination)
        base.writeU16(InternetChecksum.apply(headerDelta, to: headerChecksum), at: Offset.checksum)
        guard carriesTransportHeader else { return }
        FlowPorts.write(protocol: self.protocol, segment: payload, sourcePort: sourcePort, destinationPort: destinationPort,
                        delta: transportDelta)
    }
}

extension IPv6Packet {
    @inlinable @inline(__always)
    public func rewriteFlow(source: IPv6Address, destination: IPv6Address, sourcePort: UInt16, destinationPort: UInt16,
                            transportDelta: UInt32) {
        base.writeIPv6Address(source, at: Offset.source)
        base.writeIPv6Address(destination, at: Offset.destination)
        guard carriesTransportHeader else { return }
        FlowPorts.write(protocol: upperLayerProtocol, segment: upperLayer, sourcePort: sourcePort,
                        destinationPort: destinationPort, delta: transportDelta)
    }
}

extension IPv6Packet {
    /// Rewrites both addresses and, for TCP and UDP, both ports, with one incremental update of
    /// the transport checksum. Addresses in a routing header are left alone.
    @inlinable
    public func rewriteFlow(source: IPv6Address, destination: IPv6Address, sourcePort: UInt16, destinationPort: UInt16) {
        let oldSource = self.source
        let oldDestination = self.destination
        base.writeIPv6Address(source, at: Offset.source)
        base.writeIPv6Address(destination, at: Offset.destination)
        guard carriesTransportHeader else { return }
        var addressDelta = InternetChecksum.delta(old: oldSource, new: source)
        if finalDestinationOffset == Offset.destination {
            addressDelta = InternetChecksum.add(addressDelta, InternetChecksum.delta(old: oldDestination, new: destination))
        }
        FlowPorts.rewrite(protocol: upperLayerProtocol, segment: upperLayer, addressDelta: addressDelta,
                          sourcePort: sourcePort, destinationPort: destinationPort)
    }
}

/// The ports of TCP and UDP, which share their offsets (RFC 9293, RFC 768).
public enum FlowPorts {
    /// Writes the ports (TCP and UDP) and applies a checksum delta worked out beforehand.
    @inlinable @inline(__always)
    public static func write(protocol proto: IPProtocol, segment: UnsafeMutableRawBufferPointer, sourcePort: UInt16,
                             destinationPort: UInt16, delta: UInt32) {
        if (proto == .tcp || proto == .udp), segment.count >= 4, let base = segment.nonEmptyBase {
            base.writeU16(sourcePort, at: 0)
            base.writeU16(destinationPort, at: 2)
        }
        TransportChecksum.adjust(protocol: proto, segment: segment, delta: delta)
    }

    @inlinable @inline(__always)
    public static func rewrite(protocol proto: IPProtocol, segment: UnsafeMutableRawBufferPointer, addressDelta: UInt32,
                               sourcePort: UInt16, destinationPort: UInt16) {
        var delta = addressDelta
        if (proto == .tcp || proto == .udp), segment.count >= 4, let base = segment.nonEmptyBase {
            let oldSource = base.readU16(at: 0)
            let oldDestination = base.readU16(at: 2)
            base.writeU16(sourcePort, at: 0)
            base.writeU16(destinationPort, at: 2)
            delta = InternetChecksum.add(delta, InternetChecksum.add(
                InternetChecksum.delta(old: oldSource, new: sourcePort),
                InternetChecksum.delta(old: oldDestination, new: destinationPort)))
        }
        TransportChecksum.adjust(protocol: proto, segment: segment, delta: delta)
    }
}

extension TCPSegment {
    /// Lowers an MSS option larger than `maximum` to it, keeping the checksum right; returns
    /// whether the segment changed. A segment without the option is left as it is.
    @inlinable
    @discardableResult
    public func clampMaximumSegmentSize(to maximum: UInt16) -> Bool {
        guard let (offset, length) = option(kind: 2), length == 4 else { return false }
        let current = base.readU16(at: offset + 2)
        guard current > maximum else { return false }
        base.writeU16(maximum, at: offset + 2)
        // The value sits at offset + 2: aligned with the checksum's 16-bit words when the
        // option starts at an even offset, straddling two of them otherwise.
        if offset % 2 == 0 {
            base.writeU16(InternetChecksum.update(checksum, old: current, new: maximum), at: Offset.checksum)
        } else {
            updateChecksumForOddRewrite(oldValue: current, newValue: maximum)
        }
        return true
    }

    /// Where the first option of `kind` starts in the header, and its length; nil when there is
    /// none before End of Option List, or the options are malformed before it.
    @inlinable
    func option(kind wanted: UInt8) -> (offset: Int, length: Int)? {
        var offset = Offset.minimumHeader
        while offset < headerLength {
            let kind = base.readU8(at: offset)
            if kind == 0 { return nil }
            if kind == 1 { offset += 1; continue }
            guard offset + 2 <= headerLength else { return nil }
            let length = Int(base.readU8(at: offset + 1))
            guard length >= 2, offset + length <= headerLength else { return nil }
            if kind == wanted { return (offset, length) }
            offset += length
        }
        return nil
    }

    /// A 16-bit value rewritten at an odd offset straddles two checksum words: its high byte is
    /// the low byte of one word, its low byte the high byte of the next. Byte-swapping both values
    /// gives their contribution to the sum (RFC 1071 §2(B)).
    @inlinable
    func updateChecksumForOddRewrite(oldValue: UInt16, newValue: UInt16) {
        base.writeU16(InternetChecksum.update(checksum, old: oldValue.byteSwapped, new: newValue.byteSwapped),
                      at: Offset.checksum)
    }
}

extension TCPSegment {
    /// Rewrites the sequence number, keeping the checksum right (RFC 1624).
    @inlinable
    public func setSequenceNumber(_ value: UInt32) { rewriteWord(at: Offset.sequence, to: value) }

    /// Rewrites the acknowledgment number, keeping the checksum right (RFC 1624).
    @inlinable
    public func setAcknowledgmentNumber(_ value: UInt32) { rewriteWord(at: Offset.acknowledgment, to: value) }

    /// Where the SACK option's blocks are (RFC 2018 §3: pairs of 32-bit left and right edges),
    /// and how many; nil without a SACK option.
    @inlinable
    public var sackBlocks: (offset: Int, count: Int)? {
        guard let (offset, length) = option(kind: 5), length > 2, (length - 2) % 8 == 0 else { return nil }
        return (offset + 2, (length - 2) / 8)
    }

    /// The 32-bit word at `offset` of the header.
    @inlinable
    public func word(at offset: Int) -> UInt32 { base.readU32(at: offset) }

    /// Rewrites the 32-bit word at `offset` (a sequence number, an option's edge), keeping the
    /// checksum right: at an odd offset it straddles three checksum words, and each half is
    /// summed byte-swapped.
    @inlinable
    public func rewriteWord(at offset: Int, to value: UInt32) {
        let old = base.readU32(at: offset)
        guard old != value else { return }
        base.writeU32(value, at: offset)
        if offset % 2 == 0 {
            base.writeU16(InternetChecksum.update(checksum, old: old, new: value), at: Offset.checksum)
        } else {
            updateChecksumForOddRewrite(oldValue: UInt16(truncatingIfNeeded: old >> 16), newValue: UInt16(truncatingIfNeeded: value >> 16))
            updateChecksumForOddRewrite(oldValue: UInt16(truncatingIfNeeded: old), newValue: UInt16(truncatingIfNeeded: value))
        }
    }
}
