import Foundation
import Testing
import PacketIO
import PacketWire
import TestSupport

@Suite("Capture files")
struct CaptureFileTests {
    static let ipv4 = PacketBuilder.ipv4Packet(
        IPv4Fields(source: IPv4Address(10, 0, 1, 10), destination: IPv4Address(10, 0, 2, 20)),
        .udp(UDPFields(sourcePort: 1000, destinationPort: 2000)), payload: [1, 2, 3])
    static let ipv6 = PacketBuilder.ipv6Packet(
        IPv6Fields(source: IPv6Address("fd00::1")!, destination: IPv6Address("fd00::2")!),
        .tcp(TCPFields(sourcePort: 3000, destinationPort: 443, flags: .syn)))

    /// Reads every packet of a capture as (time, bytes, original length).
    static func readAll(_ path: String) throws -> (LinkType, [(Int64, [UInt8], Int)]) {
        let reader = try CaptureReader(path: path)
        var packets: [(Int64, [UInt8], Int)] = []
        while let packet = try reader.next() {
            #expect(packet.number == packets.count + 1)
            packets.append((packet.time.nanosecondsSinceEpoch!, Array(packet.bytes), packet.originalLength))
        }
        return (reader.linkType, packets)
    }

    @Test func writeThenReadKeepsBytesAndNanosecondTimes() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("raw.pcap")
        let writer = try CaptureWriter(path: path, linkType: .rawIP)
        let times: [Int64] = [1_700_000_000_000_000_001, 1_700_000_000_123_456_789, 1_800_000_000_999_999_999]
        for (index, packet) in [Self.ipv4, Self.ipv6, Self.ipv4].enumerated() {
            packet.withUnsafeBytes { writer.write($0, timestampNanoseconds: times[index], originalLength: index == 2 ? 1500 : nil) }
        }
        try writer.close()

        let (linkType, packets) = try Self.readAll(path)
        #expect(linkType == .rawIP)
        #expect(packets.map(\.0) == times)
        #expect(packets.map(\.1) == [Self.ipv4, Self.ipv6, Self.ipv4])
        #expect(packets.map(\.2) == [Self.ipv4.count, Self.ipv6.count, 1500])
    }

    /// Raw IP under both DLT numbers (12, 14) and LINKTYPE_RAW (101); Linux cooked v1 and v2.
    @Test(arguments: [(UInt32(12), LinkType.rawIP), (14, .rawIP), (101, .rawIP), (228, .rawIP),
                      (113, .linuxSLL), (276, .linuxSLL2), (1, .ethernet)])
    func linkTypes(_ number: UInt32, _ expected: LinkType) throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("link-\(number).pcap")
        let frame: [UInt8]
        switch expected {
        case .rawIP: frame = Self.ipv4
        case .linuxSLL: frame = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00] + Self.ipv4
        case .linuxSLL2: frame = [0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0] + Self.ipv4
        case .ethernet: frame = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00] + Self.ipv4
        }
        var file = HandmadePcap(linkType: number)
        file.record(frame, seconds: 1_700_000_000, microseconds: 250)
        try file.write(to: path)

        let reader = try CaptureReader(path: path)
        #expect(reader.linkType == expected)
        let packet = try #require(try reader.next())
        #expect(packet.time.nanosecondsSinceEpoch == 1_700_000_000_000_250_000)
        var copy = Array(packet.bytes)
        try copy.withUnsafeMutableBytes { buffer in
            let dissection = try PacketDissection(linkType: reader.linkType, bytes: buffer)
            guard case .udp(let udp) = dissection.transport else {
                Issue.record("expected UDP, got \(dissection.transport)")
                return
            }
            #expect(udp.destinationPort == 2000)
        }
        #expect(try reader.next() == nil)
    }

    @Test func unsupportedLinkTypeIsNamed() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("wifi.pcap")
        try HandmadePcap(linkType: 105).write(to: path)
        #expect(throws: IOError.unsupportedLinkType(path: path, dlt: 105, name: "IEEE802_11")) {
            try CaptureReader(path: path)
        }
    }

    @Test func missingAndNonCaptureFilesAreErrors() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let missing = folder.file("nothing-here.pcap")
        do {
            _ = try CaptureReader(path: missing)
            Issue.record("opened a missing file")
        } catch {
            #expect(error.description.hasPrefix(missing + ": cannot open capture: "))
            #expect(error.description.contains("No such file"))
        }
        let text = folder.file("notes.txt")
        try Data("not a capture at all, just text\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: IOError.self) { try CaptureReader(path: text) }
    }

    /// A capture cut in the middle of its last packet: every packet before is reported, then an
    /// error that names the file and the packet.
    @Test func truncatedCaptureReportsEverythingBeforeTheCut() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let whole = folder.file("whole.pcap")
        try SampleCapture.write(path: whole)
        let cut = folder.file("cut.pcap")
        var data = try Data(contentsOf: URL(fileURLWithPath: whole))
        let frameCount = SampleCapture.frames().count
        let lastLength = SampleCapture.frames().last!.bytes.count
        data.removeLast(lastLength / 2)
        try data.write(to: URL(fileURLWithPath: cut))

        var inspector = try CaptureInspector(path: cut)
        var lines: [String] = []
        do {
            try inspector.run { lines.append($0) }
            Issue.record("a cut capture read to the end without an error")
        } catch {
            guard case .corrupt(let path, let number, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == cut)
            #expect(number == frameCount)
            #expect(reason.contains("truncated"))
            #expect(error.description.hasPrefix("\(cut): packet \(frameCount): "))
        }
        #expect(lines.count == frameCount - 1)
        #expect(inspector.summary.packets == frameCount - 1)
        #expect(lines.first?.hasPrefix("1 1700000000.000000000 IP 10.0.1.10.40000 > 10.0.2.20.80: Flags [S]") == true)

        // A cut inside a record header is reported the same way.
        data.removeLast(data.count - 24 - 16 - SampleCapture.frames()[0].bytes.count - 8)
        try data.write(to: URL(fileURLWithPath: cut))
        var again = try CaptureInspector(path: cut)
        var count = 0
        #expect(throws: IOError.self) { try again.run { _ in count += 1 } }
        #expect(count == 1)
    }

    @Test(.enabled(if: editcapPath != nil, "editcap (Debian's wireshark-common) is not installed"))
    func pcapngReadsLikePcap() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let pcap = folder.file("sample.pcap")
        let pcapng = folder.file("sample.pcapng")
        try SampleCapture.write(path: pcap)
        let converted = try runProgram(editcapPath!, ["-F", "pcapng", pcap, pcapng])
        #expect(converted.status == 0, "\(converted.error)")
        let (pcapLink, pcapPackets) = try Self.readAll(pcap)
        let (ngLink, ngPackets) = try Self.readAll(pcapng)
        #expect(pcapLink == ngLink)
        #expect(pcapPackets.count == SampleCapture.frames().count)
        #expect(pcapPackets.map(\.0) == ngPackets.map(\.0))
        #expect(pcapPackets.map(\.1) == ngPackets.map(\.1))
    }
}

/// Timestamps at the edges of what files can hold: read without trapping, as tshark reads them.
@Suite("Capture timestamps")
struct CaptureTimestampTests {
    /// A classic pcap's seconds are an unsigned 32-bit field, good until 2106; libpcap hands the
    /// ones from 2038-01-19 on over as negative numbers.
    @Test func classicSecondsPast2038() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("y2038.pcap")
        var file = HandmadePcap(linkType: 101)
        for seconds: UInt32 in [0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF] {
            file.record(CaptureFileTests.ipv4, seconds: seconds, microseconds: 123_456)
        }
        try file.write(to: path)
        let expected = ["2147483647.123456000", "2147483648.123456000", "4294967295.123456000"]
        #expect(try Self.times(path) == expected)
        try Self.expectTsharkAgrees(path, expected)
    }

    /// A pcapng timestamp is 64 bits of the interface's unit (microseconds here): past the year
    /// 2262 it no longer fits 64 bits of nanoseconds, and still reads.
    @Test func pcapngTimestampsPast2262() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("future.pcapng")
        var file = HandmadePcapng(linkType: 101)
        file.record(CaptureFileTests.ipv4, timestampHigh: 0xFFFF_FFFF, low: 0xFFFF_FFFF)
        file.record(CaptureFileTests.ipv4, timestampHigh: 0x7FFF_FFFF, low: 0)
        file.record(CaptureFileTests.ipv4, timestampHigh: 0x0010_0000, low: 0)
        try file.write(to: path)
        let expected = ["18446744073709.551615000", "9223372032559.808512000", "4503599627.370496000"]
        #expect(try Self.times(path) == expected)
        try Self.expectTsharkAgrees(path, expected)
        let reader = try CaptureReader(path: path)
        #expect(try reader.next()?.time.nanosecondsSinceEpoch == nil, "past 2262: no nanosecond clock holds it")
        _ = try reader.next()
        #expect(try reader.next()?.time.nanosecondsSinceEpoch == 4_503_599_627_370_496_000)
    }

    /// What libpcap hands over, turned into times: the edges of each range.
    @Test func libpcapFieldsAtTheirEdges() {
        #expect(CaptureTime(libpcapSeconds: -1, fraction: 0) == CaptureTime(seconds: 0xFFFF_FFFF, nanoseconds: 0))
        #expect(CaptureTime(libpcapSeconds: Int.min, fraction: 0) == CaptureTime(seconds: 1 << 63, nanoseconds: 0))
        #expect(CaptureTime(libpcapSeconds: 5, fraction: 2_500_000_000) == CaptureTime(seconds: 7, nanoseconds: 500_000_000))
        #expect(CaptureTime(libpcapSeconds: Int(Int32.min) - 1, fraction: Int.max) == nil, "carries past 64 bits")
        #expect(CaptureTime(libpcapSeconds: 5, fraction: -1000) == nil)
        #expect(CaptureTime(seconds: 9_223_372_036, nanoseconds: 854_775_807).nanosecondsSinceEpoch == Int64.max)
        #expect(CaptureTime(seconds: 9_223_372_036, nanoseconds: 854_775_808).nanosecondsSinceEpoch == nil)
    }

    static func times(_ path: String) throws -> [String] {
        let reader = try CaptureReader(path: path)
        var times: [String] = []
        while let packet = try reader.next() { times.append(packet.time.description) }
        return times
    }

    static func expectTsharkAgrees(_ path: String, _ expected: [String],
                                   sourceLocation: SourceLocation = #_sourceLocation) throws {
        let tshark = try #require(tsharkPath, "tshark (Debian's tshark package) is not installed")
        let result = try runProgram(tshark, ["-r", path, "-T", "fields", "-e", "frame.time_epoch"])
        #expect(result.output.split(separator: "\n").map(String.init) == expected, sourceLocation: sourceLocation)
    }
}
