import Testing
import PacketWire
import TestSupport

@Suite("Checksums")
struct ChecksumTests {
    /// The fast sum (64-bit words, native order) against the plain RFC 1071 loop, on random
    /// lengths and random alignments.
    @Test func fastSumMatchesReference() {
        var generator = SeededGenerator(seed: 1071)
        var storage = [UInt8].random(count: 2048, using: &generator)
        for _ in 0..<100_000 {
            let start = Int.random(in: 0..<8, using: &generator)
            let count = Int.random(in: 0...600, using: &generator)
            let index = Int.random(in: 0..<storage.count, using: &generator)
            storage[index] = UInt8.random(in: 0...255, using: &generator)
            storage.withUnsafeBytes { all in
                let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + count)])
                let fast = InternetChecksum.fold(InternetChecksum.sum(slice))
                let reference = InternetChecksum.fold(InternetChecksum.referenceSum(slice))
                #expect(fast == reference, "length \(count) at offset \(start)")
            }
        }
    }

    @Test func sumOfAllOnesAndEdgeLengths() {
        let ones = [UInt8](repeating: 0xFF, count: 4096)
        ones.withUnsafeBytes { buffer in
            for count in [0, 1, 2, 3, 7, 8, 9, 31, 32, 33, 4096] {
                let slice = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                #expect(InternetChecksum.fold(InternetChecksum.sum(slice))
                        == InternetChecksum.fold(InternetChecksum.referenceSum(slice)))
            }
        }
        // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        bytes("0001f203f4f5f6f7").withUnsafeBytes { buffer in
            #expect(InternetChecksum.fold(InternetChecksum.sum(buffer)) == 0xDDF2)
        }
    }

    /// RFC 1624 §4: a header checksum of 0xDD2F, a field going from 0x5555 to 0x3285, gives 0x0000
    /// by eqn. 3 (eqn. 2 would give 0xFFFF).
    @Test func rfc1624Example() {
        #expect(InternetChecksum.update(0xDD2F, old: UInt16(0x5555), new: UInt16(0x3285)) == 0x0000)
    }

    /// Incremental rewrites of addresses, ports and TTL on 100,000 random packets, checked against
    /// a full recompute of every checksum.
    @Test func incrementalRewritesMatchFullRecompute() throws {
        var generator = SeededGenerator(seed: 1624)
        var transportsCompared = 0
        for round in 0..<100_000 {
            let packet = RandomPackets.make(&generator, allowExtensions: round % 4 == 0)
            try withPacket(packet.bytes) { buffer in
                let dissection = try PacketDissection(etherType: packet.ipv4 ? .ipv4 : .ipv6, bytes: buffer)
                switch dissection.network {
                case .ipv4(let ip):
                    switch Int.random(in: 0..<5, using: &generator) {
                    case 0: ip.setSource(IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator)))
                    case 1: ip.setDestination(IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator)))
                    case 2: ip.decrementTTL()
                    default: RandomPackets.rewritePort(dissection.transport, &generator)
                    }
                    #expect(ip.headerChecksumIsValid)
                    let header = Array(UnsafeRawBufferPointer(start: ip.base, count: ip.headerLength))
                    var zeroed = header
                    zeroed[10] = 0
                    zeroed[11] = 0
                    let full = zeroed.withUnsafeBytes { InternetChecksum.finish(InternetChecksum.sum($0)) }
                    #expect(ip.headerChecksum == full)
                    if let (stored, recomputed) = transportChecksums(ipv4: ip) {
                        #expect(stored == recomputed, "round \(round): \(ip.protocol.name)")
                        transportsCompared += 1
                    }
                case .ipv6(let ip):
                    switch Int.random(in: 0..<4, using: &generator) {
                    case 0: ip.setSource(IPv6Address(high: generator.next(), low: generator.next()))
                    case 1: ip.setDestination(IPv6Address(high: generator.next(), low: generator.next()))
                    default: RandomPackets.rewritePort(dissection.transport, &generator)
                    }
                    if let (stored, recomputed) = transportChecksums(ipv6: ip) {
                        #expect(stored == recomputed, "round \(round): \(ip.upperLayerProtocol.name)")
                        transportsCompared += 1
                    }
                case .other:
                    Issue.record("not IP")
                }
            }
        }
        #expect(transportsCompared > 50_000, "most packets carry a transport checksum to compare")
    }
}

extension ChecksumTests {
    /// A checksum left partial (the pseudo-header sum, as a kernel leaves it for a device with
    /// checksum offload) is completed to what a full recompute gives, on 20,000 random TCP and
    /// UDP packets; a complete checksum is left as it is.
    @Test func partialChecksumsCompleteToTheFullOne() throws {
        var generator = SeededGenerator(seed: 8805)
        var completed = 0
        for round in 0..<20_000 {
            let packet = RandomPackets.make(&generator, allowExtensions: round % 4 == 0)
            try withPacket(packet.bytes) { buffer in
                let dissection = try PacketDissection(etherType: packet.ipv4 ? .ipv4 : .ipv6, bytes: buffer)
                let (segment, pseudo): (UnsafeMutableRawBufferPointer, UInt32)
                switch dissection.network {
                case .ipv4(let ip): (segment, pseudo) = (ip.payload, ip.pseudoHeaderSum)
                case .ipv6(let ip): (segment, pseudo) = (ip.upperLayer, ip.pseudoHeaderSum)
                case .other: return
                }
                let offset: Int
                switch dissection.transport {
                case .tcp: offset = TCPSegment.Offset.checksum
                case .udp(let udp) where udp.checksum != 0: offset = UDPDatagram.Offset.checksum
                default:
                    #expect(!PartialChecksum.complete(buffer))
                    return
                }
                let full = Array(segment[offset..<offset + 2])
                #expect(!PartialChecksum.complete(buffer) || segment[offset..<offset + 2].elementsEqual(full), "complete: left alone")
                let folded = InternetChecksum.fold(pseudo)
                segment[offset] = UInt8(folded >> 8)
                segment[offset + 1] = UInt8(folded & 0xFF)
                #expect(PartialChecksum.complete(buffer))
                #expect(Array(segment[offset..<offset + 2]) == full, "round \(round)")
                completed += 1
            }
        }
        #expect(completed > 10_000)
    }
}

/// Random well-formed packets, shared by the checksum and round-trip tests.
enum RandomPackets {
    struct Made {
        var bytes: [UInt8]
        var ipv4: Bool
        var ip4: IPv4Fields?
        var ip6: IPv6Fields?
        var transport: TransportFields
        var payload: [UInt8]
    }

    static func make(_ generator: inout SeededGenerator, allowExtensions: Bool) -> Made {
        let ipv4 = Bool.random(using: &generator)
        let payload = [UInt8].random(count: Int.random(in: 0...64, using: &generator), using: &generator)
        let transport: TransportFields
        switch Int.random(in: 0..<3, using: &generator) {
        case 0:
            var tcp = TCPFields(sourcePort: .random(in: 0...65535, using: &generator),
                                destinationPort: .random(in: 0...65535, using: &generator),
                                flags: TCPFlags(rawValue: .random(in: 0...0x1FF, using: &generator)))
            tcp.sequenceNumber = .random(in: 0...UInt32.max, using: &generator)
            tcp.acknowledgmentNumber = .random(in: 0...UInt32.max, using: &generator)
            tcp.window = .random(in: 0...65535, using: &generator)
            tcp.urgentPointer = .random(in: 0...65535, using: &generator)
            if Bool.random(using: &generator) { tcp.maximumSegmentSize = .random(in: 0...65535, using: &generator) }
            if Bool.random(using: &generator) { tcp.windowScale = .random(in: 0...14, using: &generator) }
            tcp.sackPermitted = Bool.random(using: &generator)
            if Bool.random(using: &generator) {
                tcp.timestamps = TCPTimestamps(value: .random(in: 0...UInt32.max, using: &generator),
                                               echoReply: .random(in: 0...UInt32.max, using: &generator))
            }
            transport = .tcp(tcp)
        case 1:
            var udp = UDPFields(sourcePort: .random(in: 0...65535, using: &generator),
                                destinationPort: .random(in: 0...65535, using: &generator))
            udp.computeChecksum = !ipv4 || Int.random(in: 0..<4, using: &generator) != 0
            transport = .udp(udp)
        default:
            transport = .icmp(ICMPFields(type: .random(in: 0...255, using: &generator),
                                         code: .random(in: 0...255, using: &generator),
                                         restOfHeader: .random(in: 0...UInt32.max, using: &generator)))
        }
        if ipv4 {
            var ip = IPv4Fields(source: IPv4Address(.random(in: 0...UInt32.max, using: &generator)),
                                destination: IPv4Address(.random(in: 0...UInt32.max, using: &generator)))
            ip.ttl = .random(in: 1...255, using: &generator)
            ip.identification = .random(in: 0...65535, using: &generator)
            ip.dscp = .random(in: 0...63, using: &generator)
            ip.ecn = .random(in: 0...3, using: &generator)
            ip.dontFragment = Bool.random(using: &generator)
            if allowExtensions { ip.options = [0x94, 0x04, 0x00, 0x00] }
            return Made(bytes: PacketBuilder.ipv4Packet(ip, transport, payload: payload), ipv4: true,
                        ip4: ip, transport: transport, payload: payload)
        }
        var ip = IPv6Fields(source: IPv6Address(high: generator.next(), low: generator.next()),
                            destination: IPv6Address(high: generator.next(), low: generator.next()))
        ip.hopLimit = .random(in: 0...255, using: &generator)
        ip.trafficClass = .random(in: 0...255, using: &generator)
        ip.flowLabel = .random(in: 0...0xFFFFF, using: &generator)
        if allowExtensions {
            if Bool.random(using: &generator) { ip.extensionHeaders.append(.hopByHop(length: 8 * .random(in: 1...3, using: &generator))) }
            if Bool.random(using: &generator) { ip.extensionHeaders.append(.destinationOptions(length: 8)) }
            if Bool.random(using: &generator) {
                let hops = (0..<Int.random(in: 1...3, using: &generator)).map { _ in
                    IPv6Address(high: generator.next(), low: generator.next())
                }
                ip.extensionHeaders.append(.routing(type: [0, 2, 4].randomElement(using: &generator)!,
                                                    segmentsLeft: .random(in: 0...2, using: &generator),
                                                    addresses: hops))
            }
            if Bool.random(using: &generator) {
                ip.extensionHeaders.append(.fragment(offset: 0, moreFragments: false,
                                                     identification: .random(in: 0...UInt32.max, using: &generator)))
            }
        }
        return Made(bytes: PacketBuilder.ipv6Packet(ip, transport, payload: payload), ipv4: false,
                    ip6: ip, transport: transport, payload: payload)
    }

    static func rewritePort(_ transport: TransportLayer, _ generator: inout SeededGenerator) {
        let port = UInt16.random(in: 0...65535, using: &generator)
        let source = Bool.random(using: &generator)
        switch transport {
        case .tcp(let tcp): source ? tcp.setSourcePort(port) : tcp.setDestinationPort(port)
        case .udp(let udp): source ? udp.setSourcePort(port) : udp.setDestinationPort(port)
        default: break
        }
    }
}

extension ChecksumTests {
    /// MSS clamping at even and odd option offsets keeps the checksum a full recompute gives.
    @Test func mssClampKeepsTheChecksum() throws {
        for leadingNOPs in 0..<4 {
            var generator = SeededGenerator(seed: UInt64(leadingNOPs))
            for _ in 0..<500 {
                let mss = UInt16.random(in: 0...65535, using: &generator)
                var fields = TCPFields(sourcePort: 1, destinationPort: 2, flags: .syn)
                fields.sequenceNumber = .random(in: 0...UInt32.max, using: &generator)
                var packet = PacketBuilder.ipv4Packet(IPv4Fields(source: IPv4Address(1), destination: IPv4Address(2)), .tcp(fields))
                // Options by hand: NOPs, then MSS, padded to a word boundary.
                var options = [UInt8](repeating: 1, count: leadingNOPs) + [2, 4, UInt8(mss >> 8), UInt8(mss & 0xFF)]
                while options.count % 4 != 0 { options.append(0) }
                packet.insert(contentsOf: options, at: 40)
                packet[2...3] = [0, UInt8(40 + options.count)]
                packet[32] = UInt8((20 + options.count) / 4) << 4 | (packet[32] & 0x0F)
                try withPacket(packet) { buffer in
                    let ip = try IPv4Packet(buffer)
                    ip.updateHeaderChecksum()
                    let tcp = try TCPSegment(ip.payload)
                    tcp.updateChecksum(pseudoHeaderSum: ip.pseudoHeaderSum)
                    let changed = tcp.clampMaximumSegmentSize(to: 1460)
                    #expect(changed == (mss > 1460))
                    #expect(tcp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum), "MSS \(mss) after \(leadingNOPs) NOPs")
                    let expected = min(mss, 1460)
                    #expect(Array(tcp.options).contains(.maximumSegmentSize(expected)))
                }
            }
        }
    }
}
