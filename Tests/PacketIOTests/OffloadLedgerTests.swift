import Testing
import PacketIO
import PacketWire
import TestSupport

/// The partial checksums of TUN offloads: a packet arrives with only its pseudo-header sum in
/// the TCP checksum field (VIRTIO_NET_HDR_F_NEEDS_CSUM), is translated, and leaves with a field
/// from which the far side's checksum offload must produce exactly the checksum a full
/// computation gives for the translated packet.
@Suite("TUN offload checksums")
struct OffloadLedgerTests {
    @Test func virtioHeaderIsTenBytes() {
        #expect(MemoryLayout<VirtioNetHeader>.size == VirtioNetHeader.size)
    }

    /// What a device does with NEEDS_CSUM: sum [start, end) with the field as it is, complement.
    func deviceChecksum(_ packet: [UInt8], start: Int) -> UInt16 {
        packet.withUnsafeBytes { InternetChecksum.finish(InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[start...]))) }
    }

    func field(_ packet: [UInt8], _ offset: Int) -> UInt16 { UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1]) }

    @Test(arguments: [false, true])
    func translatedPartialChecksumFinishesToTheFullOne(ipv6: Bool) {
        var random = SeededGenerator(seed: ipv6 ? 66 : 44)
        let ledger = OffloadLedger(capacity: 256)
        for _ in 0..<2000 {
            let payload = [UInt8].random(count: Int.random(in: 0...1400, using: &random), using: &random)
            var before = TCPFields(sourcePort: .random(in: 1...65535, using: &random), destinationPort: 80, flags: [.ack, .psh])
            before.sequenceNumber = .random(in: 0...UInt32.max, using: &random)
            var after = before
            after.sourcePort = .random(in: 10000...64999, using: &random)
            after.destinationPort = .random(in: 1...65535, using: &random)
            let original: [UInt8], translated: [UInt8], transport: Int, length: Int
            if ipv6 {
                func address() -> IPv6Address { IPv6Address(high: .random(in: 0...UInt64.max, using: &random), low: .random(in: 0...UInt64.max, using: &random)) }
                let (source, destination) = (address(), address())
                original = PacketBuilder.ipv6Packet(IPv6Fields(source: source, destination: destination), .tcp(before), payload: payload)
                translated = PacketBuilder.ipv6Packet(IPv6Fields(source: address(), destination: address()), .tcp(after), payload: payload)
                transport = 40
                length = original.count - 40
            } else {
                func address() -> IPv4Address { IPv4Address(.random(in: 0...UInt32.max, using: &random)) }
                original = PacketBuilder.ipv4Packet(IPv4Fields(source: address(), destination: address()), .tcp(before), payload: payload)
                translated = PacketBuilder.ipv4Packet(IPv4Fields(source: address(), destination: address()), .tcp(after), payload: payload)
                transport = 20
                length = original.count - 20
            }
            let checksumField = transport + 16
            // What the sending kernel hands over: the pseudo-header sum alone, not complemented.
            var arriving = original
            let pseudo: UInt32 = ipv6
                ? InternetChecksum.pseudoHeaderSum(source: IPv6Address(high: 0, low: 0), destination: IPv6Address(high: 0, low: 0), protocol: .tcp, length: length)
                    + arriving.withUnsafeBytes { InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[8..<40])) }
                : InternetChecksum.pseudoHeaderSum(source: IPv4Address(0), destination: IPv4Address(0), protocol: .tcp, length: length)
                    + arriving.withUnsafeBytes { InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[12..<20])) }
            let partial = InternetChecksum.fold(pseudo)
            arriving[checksumField] = UInt8(partial >> 8)
            arriving[checksumField + 1] = UInt8(partial & 0xFF)
            #expect(deviceChecksum(arriving, start: transport) == field(original, checksumField))

            var header = VirtioNetHeader()
            header.flags = VirtioNetHeader.needsChecksum
            header.checksumStart = UInt16(transport)
            header.checksumOffset = 16
            let recorded = arriving.withUnsafeMutableBytes { ledger.arrived(0, header: header, packet: $0) }
            #expect(recorded == 0)
            // The dataplane's translation: new addresses and ports, and whatever its own
            // incremental update left in the field.
            var leaving = translated
            leaving[checksumField] = .random(in: 0...255, using: &random)
            _ = leaving.withUnsafeMutableBytes { ledger.departing(0, packet: $0) }
            #expect(deviceChecksum(leaving, start: transport) == field(translated, checksumField))
        }
    }

    @Test func segmentLengthOfASuperPacketIsHeadersPlusGSOSize() {
        let ledger = OffloadLedger(capacity: 256)
        var packet = PacketBuilder.ipv4Packet(IPv4Fields(source: IPv4Address(10, 2, 1, 4), destination: IPv4Address(10, 2, 1, 5)),
                                              .tcp(TCPFields(sourcePort: 40000, destinationPort: 80, flags: .ack)),
                                              payload: [UInt8](repeating: 7, count: 60000))
        var header = VirtioNetHeader()
        header.flags = VirtioNetHeader.needsChecksum
        header.gsoType = 1
        header.gsoSize = 8448
        header.checksumStart = 20
        header.checksumOffset = 16
        #expect(packet.withUnsafeMutableBytes { ledger.arrived(3, header: header, packet: $0) } == 20 + 20 + 8448)
        // A header pointing past the packet is refused, not trusted.
        header.checksumStart = 65000
        #expect(packet.withUnsafeMutableBytes { ledger.arrived(3, header: header, packet: $0) } == nil)
    }
}
