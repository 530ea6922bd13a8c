import Testing
import PacketIO
import PacketWire
import TestSupport

/// Offloads finished in software for packets going into a GWLB tunnel: a TCP super-packet
/// becomes the segments it stands for, each a complete tunnel packet; a partial checksum is
/// completed. Every checksum is checked against a full recompute.
@Suite("Offloads into a GWLB tunnel")
struct TunnelOffloadTests {
    /// A packet as the kernel hands it over with offloads: the TCP checksum field holds only the
    /// pseudo-header sum (over the whole super-packet's length), not complemented.
    static func offloaded(ipv6: Bool, flags: TCPFlags, payload: [UInt8]) -> ([UInt8], VirtioNetHeader) {
        var tcp = TCPFields(sourcePort: 40000, destinationPort: 80, flags: flags)
        tcp.sequenceNumber = 0xFFFF_F000
        tcp.acknowledgmentNumber = 77
        return offloaded(ipv6: ipv6, .tcp(tcp), payload: payload)
    }

    /// A TCP or UDP packet with its checksum field left to the device: the pseudo-header's sum,
    /// not complemented; IPv4 ID `identification`.
    static func offloaded(ipv6: Bool, _ transport: TransportFields, payload: [UInt8],
                          identification: UInt16 = 0x1234) -> ([UInt8], VirtioNetHeader) {
        var packet: [UInt8]
        let start: Int
        if ipv6 {
            packet = PacketBuilder.ipv6Packet(IPv6Fields(source: IPv6Address("fd00:20:0:1::4")!, destination: IPv6Address("2001:db8::10")!),
                                              transport, payload: payload)
            start = 40
        } else {
            var ip = IPv4Fields(source: IPv4Address(10, 20, 1, 4), destination: IPv4Address(198, 51, 100, 10))
            ip.identification = identification
            packet = PacketBuilder.ipv4Packet(ip, transport, payload: payload)
            start = 20
        }
        let isUDP = if case .udp = transport { true } else { false }
        let field = start + (isUDP ? UDPDatagram.Offset.checksum : 16)
        let partial = packet.withUnsafeBytes { bytes -> UInt16 in
            let addresses = InternetChecksum.addressSum(ofPacket: bytes.baseAddress!)!
            return InternetChecksum.fold(InternetChecksum.pseudoHeaderSum(addressSum: addresses, protocol: isUDP ? .udp : .tcp,
                                                                          length: packet.count - start))
        }
        packet[field] = UInt8(partial >> 8)
        packet[field + 1] = UInt8(partial & 0xFF)
        var header = VirtioNetHeader()
        header.flags = VirtioNetHeader.needsChecksum
        header.checksumStart = UInt16(start)
        header.checksumOffset = UInt16(field - start)
        return (packet, header)
    }

    /// The packet behind a GWLB tunnel header, as the dataplane leaves it.
    static func tunnelled(_ inner: [UInt8], ipv6: Bool) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: GWLBTunnel.overhead) + inner
        packet.withUnsafeMutableBytes {
            GWLBTunnel.writeOuter(at: $0.baseAddress!, source: IPv4Address(10, 40, 1, 4), destination: IPv4Address(10, 40, 1, 5),
                                  sourcePort: 50000, innerLength: inner.count, innerIsIPv6: ipv6,
                                  options: GWLBOptions(endpointID: 1, attachmentID: 2, cookie: 3))
        }
        return packet
    }

    /// `inner` tunnelled, then cut as the forwarding loop cuts it: how many, and the segments.
    static func cut(_ inner: [UInt8], header: VirtioNetHeader, ipv6: Bool) -> (count: Int, segments: [[UInt8]]) {
        var packet = tunnelled(inner, ipv6: ipv6)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 64)
        defer { scratch.deallocate() }
        var segments: [[UInt8]] = []
        let count = packet.withUnsafeMutableBytes {
            TunnelOffload.segment($0, outerLength: GWLBTunnel.overhead, header: header, scratch: scratch) { segments.append(Array($0)) }
        }
        return (count, segments)
    }

    @Test(arguments: [false, true])
    func aSuperPacketBecomesCompleteTunnelledSegments(ipv6: Bool) throws {
        var random = SeededGenerator(seed: ipv6 ? 6 : 4)
        let payload = [UInt8].random(count: 10_000, using: &random)
        var (inner, header) = Self.offloaded(ipv6: ipv6, flags: [.ack, .psh, .fin], payload: payload)
        header.gsoType = ipv6 ? 4 : 1
        header.gsoSize = 1448
        let (count, segments) = Self.cut(inner, header: header, ipv6: ipv6)
        #expect(count == 7 && segments.count == 7, "10,000 bytes in segments of 1448")
        var carried: [UInt8] = []
        for (index, var segment) in segments.enumerated() {
            let last = index == segments.count - 1
            let size = segment.count
            try segment.withUnsafeMutableBytes { buffer in
                let outer = try IPv4Packet(buffer)
                #expect(outer.totalLength == size && outer.headerChecksumIsValid)
                let udp = try UDPDatagram(outer.payload)
                #expect(udp.length == size - 20 && udp.destinationPort == 6081)
                let geneve = try GENEVEHeader(udp.payload)
                #expect(geneve.gwlbOptions == GWLBOptions(endpointID: 1, attachmentID: 2, cookie: 3))
                let innerBytes = geneve.payload
                let tcp: TCPSegment, pseudo: UInt32
                if ipv6 {
                    let ip = try IPv6Packet(innerBytes)
                    #expect(ip.availableLength == innerBytes.count)
                    tcp = try TCPSegment(ip.upperLayer)
                    pseudo = ip.pseudoHeaderSum
                } else {
                    let ip = try IPv4Packet(innerBytes)
                    #expect(ip.totalLength == innerBytes.count && ip.headerChecksumIsValid)
                    #expect(ip.identification == 0x1234 &+ UInt16(index), "one IPv4 ID per segment")
                    tcp = try TCPSegment(ip.payload)
                    pseudo = ip.pseudoHeaderSum
                }
                #expect(tcp.checksumIsValid(pseudoHeaderSum: pseudo), "segment \(index): a complete checksum")
                #expect(tcp.sequenceNumber == 0xFFFF_F000 &+ UInt32(index * 1448))
                #expect(tcp.flags.contains(.fin) == last && tcp.flags.contains(.psh) == last && tcp.flags.contains(.ack))
                #expect(tcp.payload.count == (last ? 10_000 - 6 * 1448 : 1448))
                carried += Array(tcp.payload)
            }
        }
        #expect(carried == payload, "the payload, in order, once")
    }

    @Test(arguments: [false, true])
    func aPartialChecksumIsCompleted(ipv6: Bool) throws {
        var random = SeededGenerator(seed: 9)
        let (inner, header) = Self.offloaded(ipv6: ipv6, flags: [.ack], payload: [UInt8].random(count: 1000, using: &random))
        var packet = Self.tunnelled(inner, ipv6: ipv6)
        packet.withUnsafeMutableBytes { TunnelOffload.completeChecksum($0, outerLength: GWLBTunnel.overhead, header: header) }
        var done = Array(packet[GWLBTunnel.overhead...])
        try done.withUnsafeMutableBytes { buffer in
            if ipv6 {
                let ip = try IPv6Packet(buffer)
                #expect(try TCPSegment(ip.upperLayer).checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum))
            } else {
                let ip = try IPv4Packet(buffer)
                #expect(try TCPSegment(ip.payload).checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum))
            }
        }
    }

    /// A header that does not describe the packet cuts nothing.
    @Test func aBadHeaderCutsNothing() {
        var (inner, header) = Self.offloaded(ipv6: false, flags: [.ack], payload: [UInt8](repeating: 1, count: 3000))
        header.gsoType = 1
        header.gsoSize = 1448
        header.checksumStart = 60000
        var packet = Self.tunnelled(inner, ipv6: false)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 64)
        defer { scratch.deallocate() }
        var emitted = 0
        let count = packet.withUnsafeMutableBytes {
            TunnelOffload.segment($0, outerLength: GWLBTunnel.overhead, header: header, scratch: scratch) { _ in emitted += 1 }
        }
        #expect(count == 0 && emitted == 0)
        inner.removeAll()
    }
}

/// Software GRO out of a tunnel: the segments an appliance returns merge back into the
/// super-packet they were cut from, whose partial checksum a device finishes to the full one.
@Suite("Segments merged out of a GWLB tunnel")
struct SegmentCoalescerTests {
    /// The segments of a 10,000-byte super-packet, as they come out of the tunnel.
    static func segments(ipv6: Bool, flags: TCPFlags = [.ack, .psh]) -> (original: [UInt8], segments: [[UInt8]]) {
        var random = SeededGenerator(seed: 12)
        let payload = [UInt8].random(count: 10_000, using: &random)
        var (inner, header) = TunnelOffloadTests.offloaded(ipv6: ipv6, flags: flags, payload: payload)
        header.gsoType = ipv6 ? 4 : 1
        header.gsoSize = 1448
        let segments = TunnelOffloadTests.cut(inner, header: header, ipv6: ipv6).segments.map { Array($0[GWLBTunnel.overhead...]) }
        // The original with its checksum complete, to compare with.
        inner.withUnsafeMutableBytes { TunnelOffload.completeChecksum($0, outerLength: 0, header: header) }
        return (inner, segments)
    }

    static func merge(_ segments: [[UInt8]], writer: (Int) -> Int = { _ in 3 }) -> [(Int, [UInt8], VirtioNetHeader?)] {
        var coalescer = SegmentCoalescer(capacity: 65536)
        defer { coalescer.deallocate() }
        var out: [(Int, [UInt8], VirtioNetHeader?)] = []
        func write(_ device: Int, _ bytes: UnsafeRawBufferPointer, _ header: VirtioNetHeader?) { out.append((device, Array(bytes), header)) }
        for (index, segment) in segments.enumerated() {
            segment.withUnsafeBytes { bytes in
                if !coalescer.add(bytes, writer: writer(index)) {
                    coalescer.flush(write)
                    if !coalescer.add(bytes, writer: writer(index)) { write(writer(index), bytes, nil) }
                }
            }
        }
        coalescer.flush(write)
        return out
    }

    @Test(arguments: [false, true])
    func segmentsOfOneSuperPacketMergeBack(ipv6: Bool) throws {
        let (original, segments) = Self.segments(ipv6: ipv6)
        let merged = Self.merge(segments)
        #expect(merged.count == 1)
        let (device, bytes, offloaded) = try #require(merged.first)
        let header = try #require(offloaded, "a merged super-packet carries its offload header")
        #expect(device == 3 && bytes.count == original.count)
        #expect(header.needsChecksum && header.isSegmented && header.gsoSize == 1448 && header.gsoType == (ipv6 ? 4 : 1))
        #expect(Int(header.headerLength) == (ipv6 ? 60 : 40) && Int(header.checksumStart) == (ipv6 ? 40 : 20))
        // What the kernel makes of it: the checksum it finishes is the original's; the rest is
        // the original byte for byte (the IPv4 ID is the first segment's, the original's).
        let start = Int(header.checksumStart), field = start + 16
        let finished = bytes.withUnsafeBytes { InternetChecksum.finish(InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[start...]))) }
        #expect(finished == UInt16(original[field]) << 8 | UInt16(original[field + 1]))
        var comparable = bytes
        comparable[field] = original[field]
        comparable[field + 1] = original[field + 1]
        #expect(comparable == original)
    }

    @Test func onlyWhatFollowsOnMerges() {
        let (_, segments) = Self.segments(ipv6: false)
        // A gap (the third segment lost): two runs.
        var gapped = segments
        gapped.remove(at: 2)
        #expect(Self.merge(gapped).map { $0.2 != nil } == [true, true])
        // Another device for the fourth on: two runs.
        #expect(Self.merge(segments) { $0 < 3 ? 1 : 2 }.map(\.0) == [1, 2])
        // A corrupted segment is not trusted: it goes as it came, alone, and splits the run.
        var corrupted = segments
        corrupted[3][100] ^= 0xFF
        let out = Self.merge(corrupted)
        #expect(out.count == 3 && out[1].2 == nil && out[1].1 == corrupted[3])
        // FIN: never merged.
        let (_, withFIN) = Self.segments(ipv6: false, flags: [.ack, .fin])
        #expect(Self.merge(withFIN).last?.2 == nil)
    }
}

extension TunnelOffloadTests {
    /// The UDP segmentation offload: super-datagrams that the kernel, cutting each at its
    /// `gsoSize` behind copies of its outer headers (lengths, IPv4 IDs and checksums set per
    /// datagram, as `__udp_gso_segment` and `inet_gso_segment` do), turns back into exactly the
    /// datagrams `segment` makes, but for the UDP checksum the kernel completes.
    @Test(arguments: [false, true])
    func superDatagramsCutBackIntoTheSameDatagrams(ipv6: Bool) throws {
        var random = SeededGenerator(seed: ipv6 ? 16 : 14)
        let payload = [UInt8].random(count: 60_000, using: &random)
        var (inner, header) = Self.offloaded(ipv6: ipv6, flags: [.ack, .psh], payload: payload)
        header.gsoType = ipv6 ? 4 : 1
        header.gsoSize = 1448
        let expected = Self.cut(inner, header: header, ipv6: ipv6).segments
        var packet = Self.tunnelled(inner, ipv6: ipv6)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 64)
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 64)
        defer {
            scratch.deallocate()
            staging.deallocate()
        }
        var datagrams: [[UInt8]] = []
        var writes = 0
        // The reader's side: each super-datagram read back whole is cut by the splitter into
        // the datagrams the kernel would have made.
        var splitter = DatagramSplitter()
        let room = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 64)
        defer {
            splitter.deallocate()
            room.deallocate()
        }
        var split: [[UInt8]] = [], kernelCut: [[UInt8]] = []
        let count = packet.withUnsafeMutableBytes {
            TunnelOffload.segmentForUDPOffload($0, outerLength: GWLBTunnel.overhead, header: header, scratch: scratch, staging: staging) {
                bytes, offload in
                writes += 1
                guard let offload else { return datagrams.append(Array(bytes)) }
                #expect(offload.gsoType == VirtioNetHeader.udpL4 && offload.headerLength == 28 && offload.needsChecksum)
                #expect(offload.checksumStart == 20 && offload.checksumOffset == 6 && bytes.count <= 65535)
                let super_ = Array(bytes)
                #expect(super_.withUnsafeBytes { InternetChecksum.finish(InternetChecksum.sum($0.baseAddress!, count: 20)) } == 0,
                        "the outer IPv4 header's checksum holds for the super-datagram")
                let loaded = splitter.load(bytes, header: offload)
                #expect(loaded)
                while let length = splitter.next(into: room.baseAddress!) { split.append(Array(room[0..<length])) }
                var offset = 28, index = 0
                while offset < super_.count {
                    let size = min(Int(offload.gsoSize), super_.count - offset)
                    var datagram = Array(super_[0..<28]) + Array(super_[offset..<(offset + size)])
                    datagram[2] = UInt8((datagram.count >> 8) & 0xFF)
                    datagram[3] = UInt8(datagram.count & 0xFF)
                    let id = (Int(super_[4]) << 8 | Int(super_[5])) + index
                    datagram[4] = UInt8((id >> 8) & 0xFF)
                    datagram[5] = UInt8(id & 0xFF)
                    datagram[10] = 0
                    datagram[11] = 0
                    let ipSum = datagram.withUnsafeBytes { InternetChecksum.finish(InternetChecksum.sum($0.baseAddress!, count: 20)) }
                    datagram[10] = UInt8(ipSum >> 8)
                    datagram[11] = UInt8(ipSum & 0xFF)
                    datagram[24] = UInt8(((datagram.count - 20) >> 8) & 0xFF)
                    datagram[25] = UInt8((datagram.count - 20) & 0xFF)
                    datagrams.append(datagram)
                    kernelCut.append(datagram)
                    offset += size
                    index += 1
                }
            }
        }
        #expect(count == expected.count && writes < count, "\(count) datagrams in \(writes) writes")
        #expect(datagrams.count == expected.count)
        // The splitter's datagrams are the kernel's (those of every super-datagram: a lone
        // datagram is written as it is), but for the UDP checksum, left partial for the device to
        // finish: finished, it holds.
        #expect(split.count == kernelCut.count && split.count > 0)
        for (made, kernel) in zip(split, kernelCut) {
            #expect(made.count == kernel.count && made.indices.allSatisfy { $0 == 26 || $0 == 27 || made[$0] == kernel[$0] })
            #expect(Self.udpChecksumHoldsOnceFinished(made))
        }
        for (made, wanted) in zip(datagrams, expected) {
            // Everything but the outer IPv4 ID and header checksum (the kernel numbers the
            // datagrams it cuts; one write each keeps the first's ID) and the UDP checksum, which
            // the kernel completes.
            let kept = Array(0..<4) + Array(6..<10) + Array(12..<26) + Array(28..<made.count)
            #expect(made.count == wanted.count && kept.allSatisfy { made[$0] == wanted[$0] })
            #expect(made.withUnsafeBytes { InternetChecksum.finish(InternetChecksum.sum($0.baseAddress!, count: 20)) } == 0)
        }
    }

    /// A UDP checksum left partial (the pseudo-header's sum, as a device takes it), finished as
    /// the device would: the whole datagram then sums to all ones (RFC 768, RFC 1071).
    static func udpChecksumHoldsOnceFinished(_ datagram: [UInt8]) -> Bool {
        datagram.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            let transport = datagram[0] >> 4 == 4 ? 20 : 40
            var finished = Array(datagram)
            let sum = InternetChecksum.finish(InternetChecksum.sum(base + transport, count: datagram.count - transport))
            finished[transport + 6] = UInt8(sum >> 8)
            finished[transport + 7] = UInt8(sum & 0xFF)
            return finished.withUnsafeBytes { whole in
                let addresses = InternetChecksum.addressSum(ofPacket: whole.baseAddress!)!
                let pseudo = InternetChecksum.pseudoHeaderSum(addressSum: addresses, protocol: .udp, length: datagram.count - transport)
                return InternetChecksum.fold(InternetChecksum.add(pseudo, InternetChecksum.sum(whole.baseAddress! + transport,
                                                                                               count: datagram.count - transport))) == 0xFFFF
            }
        }
    }
}
