import PacketWire

/// What a TUN device's offloads leave undone, finished in software for a packet the dataplane
/// put into a GWLB tunnel. The kernel on the far side can finish a checksum or segment a TCP
/// super-packet only where its offload header points, and it knows nothing of GENEVE: so an inner
/// checksum left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM) is completed here, and a TCP super-packet
/// is cut into the segments it stands for, each in its own tunnel packet with complete checksums,
/// as the kernel's own GSO does for a device without the feature. `outerLength` is what the
/// dataplane put in front; the header's offsets count from the inner packet.
public enum TunnelOffload {
    /// Completes the inner checksum of a packet whose L4 checksum field holds only the
    /// pseudo-header sum: the sum of [checksumStart, end) goes on top of it (RFC 1071).
    public static func completeChecksum(_ packet: UnsafeMutableRawBufferPointer, outerLength: Int, header: VirtioNetHeader) {
        guard let base = packet.baseAddress else { return }
        let start = outerLength + Int(header.checksumStart)
        let field = start + Int(header.checksumOffset)
        guard field + 2 <= packet.count else { return }
        base.storeBytes(of: InternetChecksum.finish(InternetChecksum.sum(base + start, count: packet.count - start)).bigEndian,
                        toByteOffset: field, as: UInt16.self)
    }

    /// Cuts a tunnelled TCP super-packet into segments of `header.gsoSize` payload bytes, each
    /// built in `scratch` (outer headers, inner headers, payload) with its lengths, IPv4 IDs,
    /// sequence number, flags and checksums set, and handed to `emit`. Returns how many, or 0
    /// when the header does not describe the packet.
    @discardableResult
    public static func segment(_ packet: UnsafeMutableRawBufferPointer, outerLength: Int, header: VirtioNetHeader,
                        scratch: UnsafeMutableRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard let base = packet.baseAddress, let out = scratch.baseAddress, header.gsoSize > 0 else { return 0 }
        let inner = base + outerLength
        let innerLength = packet.count - outerLength
        let transport = Int(header.checksumStart)
        guard innerLength > 0, transport + 20 <= innerLength else { return 0 }
        let headers = transport + Int(inner.load(fromByteOffset: transport + 12, as: UInt8.self) >> 4) * 4
        let payload = innerLength - headers
        let ipv4 = inner.load(as: UInt8.self) >> 4 == 4
        let mss = Int(header.gsoSize)
        guard headers >= transport + 20, payload > 0, outerLength + headers + mss <= scratch.count,
              let addresses = InternetChecksum.addressSum(ofPacket: inner) else { return 0 }
        let identification = inner.readU16(at: 4)
        let sequence = inner.readU32(at: transport + 4)
        let flags = inner.load(fromByteOffset: transport + 13, as: UInt8.self)
        var count = 0
        var offset = 0
        while offset < payload {
            let chunk = min(mss, payload - offset)
            let last = offset + chunk == payload
            out.copyMemory(from: base, byteCount: outerLength + headers)
            (out + outerLength + headers).copyMemory(from: inner + headers + offset, byteCount: chunk)
            let total = outerLength + headers + chunk
            // The outer IPv4 and UDP lengths, and the outer header checksum.
            out.writeU16(UInt16(truncatingIfNeeded: total), at: 2)
            InternetChecksum.store(out, count: 20, fieldOffset: IPv4Packet.Offset.checksum)
            out.writeU16(UInt16(truncatingIfNeeded: total - 20), at: 24)
            let segment = out + outerLength
            if ipv4 {
                let ihl = Int(segment.load(as: UInt8.self) & 0x0F) * 4
                segment.writeU16(UInt16(truncatingIfNeeded: headers + chunk), at: 2)
                segment.writeU16(identification &+ UInt16(truncatingIfNeeded: count), at: 4)
                InternetChecksum.store(segment, count: ihl, fieldOffset: IPv4Packet.Offset.checksum)
            } else {
                segment.writeU16(UInt16(truncatingIfNeeded: headers + chunk - 40), at: 4)
            }
            // FIN and PSH on the last segment only, CWR on the first only (RFC 3168 §6.1.2).
            var segmentFlags = flags
            if !last { segmentFlags &= ~0x09 }
            if count > 0 { segmentFlags &= ~0x80 }
            segment.storeBytes(of: segmentFlags, toByteOffset: transport + 13, as: UInt8.self)
            segment.writeU32(sequence &+ UInt32(truncatingIfNeeded: offset), at: transport + 4)
            let tcpLength = headers - transport + chunk
            segment.writeU16(0, at: transport + 16)
            let pseudo = InternetChecksum.pseudoHeaderSum(addressSum: addresses, protocol: .tcp, length: tcpLength)
            let sum = InternetChecksum.add(pseudo, InternetChecksum.sum(segment + transport, count: tcpLength))
            segment.writeU16(InternetChecksum.finish(sum), at: transport + 16)
            emit(UnsafeRawBufferPointer(start: out, count: total))
            count += 1
            offset += chunk
        }
        return count
    }

    /// The UDP segmentation offload (Linux 6.2+, `VIRTIO_NET_HDR_GSO_UDP_L4`): the segments of
    /// a tunnelled TCP super-packet, as `segment` makes them, gathered behind one outer IPv4 and
    /// UDP header into super-datagrams of at most 64 KiB, each handed to `emit` with the offload
    /// header that has the kernel cut it back into the same datagrams (their UDP checksums
    /// completed): one write for tens of segments. A super-packet of a single segment is emitted
    /// as it is, with no header. `staging` holds the super-datagram being gathered.
    @discardableResult
    public static func segmentForUDPOffload(_ packet: UnsafeMutableRawBufferPointer, outerLength: Int, header: VirtioNetHeader,
                                            scratch: UnsafeMutableRawBufferPointer, staging: UnsafeMutableRawBufferPointer,
                                            emit: (UnsafeRawBufferPointer, VirtioNetHeader?) -> Void) -> Int {
        guard let out = staging.baseAddress else { return 0 }
        let outer = IPv4Packet.Offset.minimumHeader + UDPDatagram.Offset.header
        var used = 0
        var datagrams = 0
        var size = 0
        var single: (start: Int, count: Int)?
        func flush() {
            guard datagrams > 0 else { return }
            defer {
                used = 0
                datagrams = 0
                size = 0
            }
            if datagrams == 1 {
                // One datagram: as `segment` made it, outer headers and checksum included.
                if let single { emit(UnsafeRawBufferPointer(start: out + single.start, count: single.count), nil) }
                return
            }
            out.writeU16(UInt16(truncatingIfNeeded: used), at: 2)
            InternetChecksum.store(out, count: 20, fieldOffset: IPv4Packet.Offset.checksum)
            let udpLength = used - 20
            out.writeU16(UInt16(truncatingIfNeeded: udpLength), at: 24)
            // A checksum left to the device: the pseudo-header's sum, not complemented.
            let addresses = InternetChecksum.add(InternetChecksum.add(UInt32(out.readU16(at: 12)), UInt32(out.readU16(at: 14))),
                                                 InternetChecksum.add(UInt32(out.readU16(at: 16)), UInt32(out.readU16(at: 18))))
            out.writeU16(InternetChecksum.fold(InternetChecksum.pseudoHeaderSum(addressSum: addresses, protocol: .udp, length: udpLength)),
                         at: 26)
            var offload = VirtioNetHeader()
            offload.flags = VirtioNetHeader.needsChecksum
            offload.gsoType = VirtioNetHeader.udpL4
            offload.headerLength = UInt16(outer)
            offload.gsoSize = UInt16(truncatingIfNeeded: size)
            offload.checksumStart = UInt16(IPv4Packet.Offset.minimumHeader)
            offload.checksumOffset = 6
            emit(UnsafeRawBufferPointer(start: out, count: used), offload)
        }
        let count = segment(packet, outerLength: outerLength, header: header, scratch: scratch) { datagram in
            let payload = datagram.count - outer
            // Every datagram of a super-datagram but its last has the same size.
            if datagrams > 0 && (payload > size || used + payload > Int(UInt16.max) || used + payload > staging.count) { flush() }
            if datagrams == 0 {
                out.copyMemory(from: datagram.baseAddress!, byteCount: datagram.count)
                single = (0, datagram.count)
                used = datagram.count
                size = payload
            } else {
                (out + used).copyMemory(from: datagram.baseAddress! + outer, byteCount: payload)
                used += payload
            }
            datagrams += 1
            // A short datagram ends a super-datagram.
            if payload < size { flush() }
        }
        flush()
        return count
    }
}
