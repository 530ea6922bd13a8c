import PacketWire

/// Cuts a UDP super-datagram read from a TUN device with UDP segmentation offload
/// (`TUN_F_USO4`/`TUN_F_USO6`, Linux 6.2+; `VIRTIO_NET_HDR_GSO_UDP_L4`) into the datagrams it
/// stands for, as the kernel's own UDP GSO would before a device without the feature: every
/// datagram `gsoSize` payload bytes but the last, each behind a copy of the IP and UDP headers
/// with its own lengths, the IPv4 ID counting up, and the IPv4 header checksum. A GWLB appliance
/// that answers with `UDP_SEGMENT` hands back tens of GENEVE datagrams this way in one read, and
/// each carries its own inner packet, so each must reach the dataplane on its own.
///
/// The UDP checksum of each datagram is left as the kernel left the super-datagram's, partial
/// (the pseudo-header's sum, `datagramHeader` saying so), for the device the datagram leaves by
/// to finish or for the tunnel to drop with the outer header: nothing is summed here.
///
/// The super-datagram is copied in once (`load`) so that its datagrams can be built in the
/// batch's slots one by one (`next`), across batches when one fills. Preallocated; nothing is
/// allocated per packet.
public struct DatagramSplitter {
    private let buffer: UnsafeMutableRawBufferPointer
    private var length = 0
    /// The IP header's length, and the IP and UDP headers' together.
    private var ipHeaderLength = 0
    private var headerLength = 0
    private var segmentSize = 0
    private var ipv4 = true
    /// Where the next datagram's payload starts (`length`: none left), and how many came before it.
    private var offset = 0
    private var made = 0
    private var addresses: UInt32 = 0

    public init() {
        buffer = .allocate(byteCount: 65536, alignment: 64)
    }

    public func deallocate() { buffer.deallocate() }

    /// Whether datagrams of the last super-datagram loaded are still to come.
    public var isEmpty: Bool { offset >= length }

    /// Whether `header` marks a UDP super-datagram.
    @inline(__always)
    public static func isSuperDatagram(_ header: VirtioNetHeader) -> Bool { header.gsoType & 0x7F == VirtioNetHeader.udpL4 }

    /// The header each datagram goes on with: a UDP checksum left partial, nothing to segment.
    public var datagramHeader: VirtioNetHeader {
        var header = VirtioNetHeader()
        header.flags = VirtioNetHeader.needsChecksum
        header.checksumStart = UInt16(ipHeaderLength)
        header.checksumOffset = UInt16(UDPDatagram.Offset.checksum)
        return header
    }

    /// Takes a super-datagram; false when `header` does not describe a UDP packet of `packet`'s
    /// family with room for one datagram (the caller counts it as a bad offload).
    public mutating func load(_ packet: UnsafeRawBufferPointer, header: VirtioNetHeader) -> Bool {
        guard let base = packet.baseAddress, packet.count <= buffer.count, packet.count >= 28, header.needsChecksum,
              header.gsoSize > 0 else { return false }
        let version = packet[0] >> 4
        let transport = Int(header.checksumStart)
        if version == 4 {
            // The UDP header right after an IPv4 header of its stated length, not a fragment.
            guard packet[9] == IPProtocol.udp.rawValue, transport == Int(packet[0] & 0x0F) * 4,
                  packet[6] & 0x3F == 0, packet[7] == 0 else { return false }
        } else if version == 6 {
            // No extension headers: the kernel puts none on a UDP_SEGMENT send.
            guard packet.count >= 48, packet[6] == IPProtocol.udp.rawValue, transport == 40 else { return false }
        } else {
            return false
        }
        guard header.checksumOffset == UInt16(UDPDatagram.Offset.checksum), transport + 8 < packet.count,
              let sum = InternetChecksum.addressSum(ofPacket: base) else { return false }
        buffer.baseAddress!.copyMemory(from: base, byteCount: packet.count)
        length = packet.count
        ipHeaderLength = transport
        headerLength = transport + 8
        segmentSize = Int(header.gsoSize)
        ipv4 = version == 4
        offset = headerLength
        made = 0
        addresses = sum
        return true
    }

    /// Builds the next datagram at `destination` (room for `headerLength + gsoSize` bytes) and
    /// returns its length; nil when none is left.
    @inline(__always)
    public mutating func next(into destination: UnsafeMutableRawPointer) -> Int? {
        guard offset < length else { return nil }
        let source = buffer.baseAddress!
        let chunk = min(segmentSize, length - offset)
        destination.copyMemory(from: source, byteCount: headerLength)
        (destination + headerLength).copyMemory(from: source + offset, byteCount: chunk)
        let total = headerLength + chunk
        if ipv4 {
            destination.writeU16(UInt16(truncatingIfNeeded: total), at: 2)
            destination.writeU16(source.readU16(at: 4) &+ UInt16(truncatingIfNeeded: made), at: 4)
            InternetChecksum.store(destination, count: ipHeaderLength, fieldOffset: IPv4Packet.Offset.checksum)
        } else {
            destination.writeU16(UInt16(truncatingIfNeeded: total - 40), at: 4)
        }
        let udpLength = chunk + 8
        destination.writeU16(UInt16(truncatingIfNeeded: udpLength), at: ipHeaderLength + 4)
        destination.writeU16(InternetChecksum.fold(InternetChecksum.pseudoHeaderSum(addressSum: addresses, protocol: .udp,
                                                                                    length: udpLength)),
                             at: ipHeaderLength + UDPDatagram.Offset.checksum)
        offset += chunk
        made += 1
        return total
    }
}
