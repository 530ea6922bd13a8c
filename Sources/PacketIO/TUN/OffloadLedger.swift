import PacketWire

/// What the forwarding loop keeps per packet of a batch for TUN offloads: the virtio header the
/// packet came with.
///
/// The L4 checksum field of a packet whose checksum the kernel left to the device
/// (VIRTIO_NET_HDR_F_NEEDS_CSUM) holds only the pseudo-header sum; the device on the far side sums
/// [checksumStart, end) (ports, options and payload included) on top of it. So when the dataplane
/// has changed the packet, the field must become the pseudo-header sum of the packet as it leaves
/// (its addresses, maybe its length: a PROXY header put in front of the data), whatever the
/// dataplane's own incremental update wrote there: everything else is summed by the device.
/// Nothing is ever summed over the payload. A packet translated between the families leaves
/// with the other family's header in front of the same transport header: where the checksum
/// and the segmentation start moves, and its segmentation type is the other family's TCP.
/// Preallocated; nothing allocated per packet.
public final class OffloadLedger {
    private let headers: UnsafeMutablePointer<VirtioNetHeader>
    /// The IP version each packet arrived with.
    private let versions: UnsafeMutablePointer<UInt8>

    /// A ledger for batches of up to `capacity` packets.
    public init(capacity: Int) {
        headers = .allocate(capacity: capacity)
        versions = .allocate(capacity: capacity)
        headers.initialize(repeating: VirtioNetHeader(), count: capacity)
        versions.initialize(repeating: 0, count: capacity)
    }

    deinit {
        headers.deallocate()
        versions.deallocate()
    }

    /// A packet Privet made itself (a probe): complete, no header.
    @inline(__always)
    public func madeHere(_ index: Int) { headers[index] = VirtioNetHeader() }

    /// Records a packet read with `header`; returns the length of each of its segments for the
    /// MTU rules (0 when it is not segmented), or nil when the header points outside the packet.
    @inline(__always)
    public func arrived(_ index: Int, header: VirtioNetHeader, packet: UnsafeMutableRawBufferPointer) -> Int? {
        headers[index] = header
        versions[index] = packet.isEmpty ? 0 : packet[0] >> 4
        guard header.needsChecksum else { return header.isSegmented ? nil : 0 }
        let field = Int(header.checksumStart) + Int(header.checksumOffset)
        guard let base = packet.baseAddress, field + 2 <= packet.count, InternetChecksum.addressSum(ofPacket: base) != nil else {
            return nil
        }
        guard header.isSegmented else { return 0 }
        // checksumStart is where TCP begins; its data offset gives the header length.
        let transport = Int(header.checksumStart)
        guard transport + 13 <= packet.count else { return nil }
        return transport + Int(base.load(fromByteOffset: transport + 12, as: UInt8.self) >> 4) * 4 + Int(header.gsoSize)
    }

    /// The header packet `index` arrived with.
    @inline(__always)
    public func header(_ index: Int) -> VirtioNetHeader { headers[index] }

    /// The header to write a forwarded packet behind, after setting its partial checksum to the
    /// pseudo-header sum of the packet as it is now (TCP's field sits 16 bytes into its header,
    /// UDP's 6).
    @inline(__always)
    public func departing(_ index: Int, packet: UnsafeMutableRawBufferPointer) -> UnsafePointer<VirtioNetHeader> {
        let version = packet.isEmpty ? 0 : packet[0] >> 4
        if version != versions[index], headers[index].needsChecksum || headers[index].isSegmented {
            // The translated header has no options or extensions: 20 bytes of IPv4, 40 of IPv6.
            let shift = (version == 4 ? 20 : 40) - Int(headers[index].checksumStart)
            headers[index].checksumStart = UInt16(truncatingIfNeeded: Int(headers[index].checksumStart) + shift)
            if headers[index].isSegmented {
                headers[index].headerLength = UInt16(truncatingIfNeeded: Int(headers[index].headerLength) + shift)
                headers[index].gsoType = headers[index].gsoType & 0x80 | (version == 4 ? VirtioNetHeader.tcpV4 : VirtioNetHeader.tcpV6)
            }
        }
        let header = headers[index]
        let start = Int(header.checksumStart)
        if header.needsChecksum, let base = packet.baseAddress, start < packet.count,
           let sum = InternetChecksum.addressSum(ofPacket: base) {
            let proto: IPProtocol = header.checksumOffset == UInt16(UDPDatagram.Offset.checksum) ? .udp : .tcp
            let partial = InternetChecksum.fold(InternetChecksum.pseudoHeaderSum(addressSum: sum, protocol: proto, length: packet.count - start))
            base.storeBytes(of: partial.bigEndian, toByteOffset: start + Int(header.checksumOffset), as: UInt16.self)
        }
        return UnsafePointer(headers + index)
    }
}
