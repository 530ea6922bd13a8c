import AllocationCounter
import PacketIO
import PacketWire
import Testing
import TestSupport

/// UDP super-datagrams read from a TUN device with UDP segmentation offload, cut into the
/// datagrams they stand for: payload in order, each datagram's lengths and IPv4 header right,
/// its UDP checksum left partial and correct once finished; headers that do not describe a UDP
/// super-datagram refused; cutting allocates nothing.
@Suite("UDP super-datagrams cut apart")
struct DatagramSplitterTests {
    /// A UDP packet as a TUN device with TUN_F_USO hands it over after a `UDP_SEGMENT` send: one
    /// header in front of the whole payload, the checksum field holding the pseudo-header's sum.
    static func superDatagram(ipv6: Bool, payload: [UInt8], segmentSize: Int) -> ([UInt8], VirtioNetHeader) {
        var (packet, header) = TunnelOffloadTests.offloaded(ipv6: ipv6, .udp(UDPFields(sourcePort: 49999, destinationPort: 443)),
                                                            payload: payload, identification: 0xFFFE)
        header.gsoType = VirtioNetHeader.udpL4
        header.headerLength = header.checksumStart + 8
        header.gsoSize = UInt16(segmentSize)
        return (packet, header)
    }

    static func split(_ packet: [UInt8], header: VirtioNetHeader) -> [[UInt8]]? {
        var splitter = DatagramSplitter()
        let room = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 64)
        defer {
            splitter.deallocate()
            room.deallocate()
        }
        guard packet.withUnsafeBytes({ splitter.load($0, header: header) }) else { return nil }
        var datagrams: [[UInt8]] = []
        while let length = splitter.next(into: room.baseAddress!) { datagrams.append(Array(room[0..<length])) }
        #expect(splitter.isEmpty)
        return datagrams
    }

    @Test(arguments: [false, true])
    func eachDatagramStandsOnItsOwn(ipv6: Bool) throws {
        var random = SeededGenerator(seed: ipv6 ? 7 : 5)
        let payload = [UInt8].random(count: 5000, using: &random)
        let (packet, header) = Self.superDatagram(ipv6: ipv6, payload: payload, segmentSize: 1200)
        let datagrams = try #require(Self.split(packet, header: header))
        let transport = ipv6 ? 40 : 20
        // 1200, 1200, 1200, 1200 and what is left: 200.
        #expect(datagrams.map { $0.count - transport - 8 } == [1200, 1200, 1200, 1200, 200])
        #expect(datagrams.flatMap { $0[(transport + 8)...] } == payload)
        for (index, datagram) in datagrams.enumerated() {
            // The headers are the super-datagram's, but for the lengths, the IPv4 ID and checksums.
            let fixed = ipv6 ? Array(0..<4) + Array(6..<44) : Array(0..<2) + Array(6..<10) + Array(12..<24)
            #expect(fixed.allSatisfy { datagram[$0] == packet[$0] })
            let udpLength = Int(datagram[transport + 4]) << 8 | Int(datagram[transport + 5])
            #expect(udpLength == datagram.count - transport)
            if ipv6 {
                #expect(Int(datagram[4]) << 8 | Int(datagram[5]) == datagram.count - 40)
            } else {
                #expect(Int(datagram[2]) << 8 | Int(datagram[3]) == datagram.count)
                // The ID counts up from the super-datagram's, wrapping (0xFFFE, 0xFFFF, 0, ...).
                #expect(UInt16(datagram[4]) << 8 | UInt16(datagram[5]) == 0xFFFE &+ UInt16(index))
                #expect(datagram.withUnsafeBytes { InternetChecksum.finish(InternetChecksum.sum($0.baseAddress!, count: 20)) } == 0)
            }
            #expect(TunnelOffloadTests.udpChecksumHoldsOnceFinished(datagram))
        }
    }

    /// A super-datagram of one segment's size or less is one datagram, as it came.
    @Test func aShortSuperDatagramIsOneDatagram() throws {
        let (packet, header) = Self.superDatagram(ipv6: false, payload: [UInt8](repeating: 7, count: 900), segmentSize: 1200)
        let datagrams = try #require(Self.split(packet, header: header))
        #expect(datagrams == [packet])
    }

    /// What does not describe a UDP super-datagram of the packet is refused, not cut.
    @Test func refusesHeadersThatDoNotFit() {
        let (packet, header) = Self.superDatagram(ipv6: false, payload: [UInt8](repeating: 1, count: 3000), segmentSize: 1000)
        var noChecksum = header
        noChecksum.flags = 0
        var noSize = header
        noSize.gsoSize = 0
        var elsewhere = header
        elsewhere.checksumStart = 24
        var notUDP = packet
        notUDP[9] = IPProtocol.tcp.rawValue
        var fragment = packet
        fragment[6] = 0x20
        for (bytes, offload) in [(packet, noChecksum), (packet, noSize), (packet, elsewhere), (notUDP, header),
                                 (fragment, header), (Array(packet[0..<20]), header)] {
            #expect(Self.split(bytes, header: offload) == nil)
        }
    }

    /// The forwarding workers' path: loading and cutting allocates nothing, counted by malloc
    /// itself; the probe's one allocation proves the counter counts.
    @Test func cuttingAllocatesNothing() {
        let (packet, header) = Self.superDatagram(ipv6: false, payload: [UInt8](repeating: 3, count: 60_000), segmentSize: 1400)
        var splitter = DatagramSplitter()
        let room = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 64)
        defer {
            splitter.deallocate()
            room.deallocate()
        }
        var bytes = 0
        allocation_counter_start()
        packet.withUnsafeBytes { raw in
            for _ in 0..<10_000 {
                guard splitter.load(raw, header: header) else { continue }
                while let length = splitter.next(into: room.baseAddress!) { bytes += length }
            }
        }
        allocation_counter_probe()
        let counted = allocation_counter_stop()
        #expect(counted == 1, "one allocation: the probe's")
        #expect(bytes == 10_000 * (60_000 + 43 * 28))
    }
}
