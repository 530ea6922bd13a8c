import Glibc
import PacketWire

/// Software GRO for packets coming out of a GWLB tunnel: consecutive TCP segments of one flow
/// (as an appliance returns the segments Privet cut a super-packet into) are merged back into one
/// super-packet for a TUN device with offloads, which the kernel takes whole, as a NIC's GRO
/// would hand it over. One system call and one trip through the receiver's stack for tens of
/// segments. Segments merge only as Linux's GRO merges them (net/ipv4/tcp_offload.c): the same
/// headers but for lengths, IPv4 ID, checksums and the sequence number; sequence numbers that
/// follow on; every segment but the last of the same size; ACK set and no SYN, RST, FIN, URG or
/// CWR; a PSH ends the run. The merged packet's checksum is left partial for the kernel, as a
/// device with checksum offload leaves it (VIRTIO_NET_HDR_F_NEEDS_CSUM).
public struct SegmentCoalescer {
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes of the merged packet so far (0: empty).
    private(set) var length = 0
    /// The device the run goes to.
    private(set) var writer = -1
    private(set) var segments = 0
    private var headerLength = 0
    private var ipHeaderLength = 0
    private var ipv4 = true
    private var segmentSize = 0
    private var nextSequence: UInt32 = 0
    /// A short segment or a PSH ended the run: nothing more joins it.
    private var closed = false

    public init(capacity: Int) {
        buffer = .allocate(byteCount: capacity, alignment: 64)
    }

    public func deallocate() { buffer.deallocate() }

    /// Adds `packet` for `writer` to the run; false when it cannot join (flush, then add again).
    public mutating func add(_ packet: UnsafeRawBufferPointer, writer: Int) -> Bool {
        guard let segment = Segment(packet), SegmentCoalescer.checksumIsValid(packet, ipHeaderLength: segment.ipHeaderLength) else {
            return false
        }
        if length == 0 {
            guard segment.headerLength + segment.payload <= buffer.count else { return false }
            buffer.baseAddress!.copyMemory(from: packet.baseAddress!, byteCount: segment.headerLength + segment.payload)
            length = segment.headerLength + segment.payload
            self.writer = writer
            segments = 1
            headerLength = segment.headerLength
            ipHeaderLength = segment.ipHeaderLength
            ipv4 = segment.ipv4
            segmentSize = segment.payload
            nextSequence = segment.sequence &+ UInt32(segment.payload)
            closed = segment.pushed
            return true
        }
        guard !closed, writer == self.writer, segment.headerLength == headerLength, segment.sequence == nextSequence,
              segment.payload <= segmentSize, length + segment.payload <= min(buffer.count, 65535),
              sameHeaders(packet) else { return false }
        (buffer.baseAddress! + length).copyMemory(from: packet.baseAddress! + headerLength, byteCount: segment.payload)
        length += segment.payload
        segments += 1
        nextSequence &+= UInt32(segment.payload)
        if segment.pushed {
            // The last segment's PSH goes on the merged packet.
            buffer.baseAddress!.storeBytes(of: buffer.load(fromByteOffset: ipHeaderLength + 13, as: UInt8.self) | 0x08,
                                           toByteOffset: ipHeaderLength + 13, as: UInt8.self)
        }
        closed = segment.pushed || segment.payload < segmentSize
        return true
    }

    /// Hands the run to `write`: one segment as it came (complete, no offload header), several
    /// as a super-packet behind the header that tells the kernel what it is; then empties it.
    public mutating func flush(_ write: (Int, UnsafeRawBufferPointer, VirtioNetHeader?) -> Void) {
        guard length > 0 else { return }
        defer { length = 0 }
        let base = buffer.baseAddress!
        guard segments > 1 else {
            write(writer, UnsafeRawBufferPointer(start: base, count: length), nil)
            return
        }
        if ipv4 {
            base.writeU16(UInt16(length), at: 2)
            InternetChecksum.store(base, count: ipHeaderLength, fieldOffset: IPv4Packet.Offset.checksum)
        } else {
            base.writeU16(UInt16(length - 40), at: 4)
        }
        // The pseudo-header sum alone, not complemented: the kernel sums the rest.
        let tcpLength = length - ipHeaderLength
        guard let addresses = InternetChecksum.addressSum(ofPacket: base) else { return }
        let partial = InternetChecksum.pseudoHeaderSum(addressSum: addresses, protocol: .tcp, length: tcpLength)
        base.writeU16(InternetChecksum.fold(partial), at: ipHeaderLength + 16)
        var header = VirtioNetHeader()
        header.flags = VirtioNetHeader.needsChecksum
        header.gsoType = ipv4 ? 1 : 4
        header.headerLength = UInt16(headerLength)
        header.gsoSize = UInt16(segmentSize)
        header.checksumStart = UInt16(ipHeaderLength)
        header.checksumOffset = 16
        write(writer, UnsafeRawBufferPointer(start: base, count: length), header)
    }

    /// Whether `packet`'s headers match the run's first, but for the fields that differ from
    /// segment to segment (IPv4 total length, ID and checksum; sequence number and checksum; PSH).
    private func sameHeaders(_ packet: UnsafeRawBufferPointer) -> Bool {
        let first = UnsafeRawPointer(buffer.baseAddress!), other = packet.baseAddress!
        func equal(_ from: Int, _ to: Int) -> Bool { memcmp(first + from, other + from, to - from) == 0 }
        let ip = ipHeaderLength
        let network = ipv4 ? equal(0, 2) && equal(6, 10) && equal(12, 20) : equal(0, 4) && equal(6, 40)
        // Ports; acknowledgment and data offset; window; urgent pointer and options.
        let transport = equal(ip, ip + 4) && equal(ip + 8, ip + 13) && equal(ip + 14, ip + 16) && equal(ip + 18, headerLength)
        let flags = first.load(fromByteOffset: ip + 13, as: UInt8.self) ^ other.load(fromByteOffset: ip + 13, as: UInt8.self)
        return network && transport && flags & ~0x08 == 0
    }

    /// Whether a segment's TCP checksum verifies: GRO merges only what it has checked, since
    /// the merged packet's checksum is left for the kernel to trust.
    private static func checksumIsValid(_ packet: UnsafeRawBufferPointer, ipHeaderLength: Int) -> Bool {
        guard let addresses = InternetChecksum.addressSum(ofPacket: packet.baseAddress!) else { return false }
        let tcpLength = packet.count - ipHeaderLength
        let pseudo = InternetChecksum.pseudoHeaderSum(addressSum: addresses, protocol: .tcp, length: tcpLength)
        return InternetChecksum.fold(InternetChecksum.add(pseudo, InternetChecksum.sum(packet.baseAddress! + ipHeaderLength,
                                                                                       count: tcpLength))) == 0xFFFF
    }

    /// What the coalescer reads of a packet: a TCP segment with data that may be merged.
    private struct Segment {
        var ipv4: Bool
        var ipHeaderLength: Int
        var headerLength: Int
        var payload: Int
        var sequence: UInt32
        var pushed: Bool

        init?(_ packet: UnsafeRawBufferPointer) {
            guard packet.count >= 40, let base = packet.baseAddress else { return nil }
            let version = packet[0] >> 4
            if version == 4 {
                // No IP options, TCP, not a fragment, the whole packet here.
                guard packet[0] == 0x45, packet[9] == 6, UInt16(packet[6] & 0x3F) << 8 | UInt16(packet[7]) == 0,
                      Int(UInt16(packet[2]) << 8 | UInt16(packet[3])) == packet.count else { return nil }
                ipv4 = true
                ipHeaderLength = 20
            } else if version == 6 {
                // No extension headers.
                guard packet.count >= 60, packet[6] == 6, Int(UInt16(packet[4]) << 8 | UInt16(packet[5])) + 40 == packet.count
                else { return nil }
                ipv4 = false
                ipHeaderLength = 40
            } else {
                return nil
            }
            let offset = Int(packet[ipHeaderLength + 12] >> 4) * 4
            headerLength = ipHeaderLength + offset
            guard offset >= 20, headerLength < packet.count else { return nil }
            let flags = packet[ipHeaderLength + 13]
            // ACK, and none of FIN, SYN, RST, URG, CWR.
            guard flags & 0x10 != 0, flags & 0xA7 == 0 else { return nil }
            payload = packet.count - headerLength
            sequence = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: ipHeaderLength + 4, as: UInt32.self))
            pushed = flags & 0x08 != 0
        }
    }
}
