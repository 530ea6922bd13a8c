import Foundation
import Testing
import PacketIO
import PacketWire
import TestSupport

/// `privet inspect` against tshark: the same capture, the same fields, packet by packet.
@Suite("Cross-check with tshark")
struct TsharkCrossCheckTests {
    /// What both tools say of one packet. Empty strings where a field does not apply.
    struct Fields: Equatable, CustomStringConvertible {
        var vlans = ""
        var source = ""
        var destination = ""
        var sourcePort = ""
        var destinationPort = ""
        var tcpSequence = ""
        var tcpFlags = ""
        var payloadLength = ""
        var icmp = false
        var fragment = false

        var description: String {
            "vlans=\(vlans) \(source):\(sourcePort) > \(destination):\(destinationPort) seq=\(tcpSequence) "
                + "flags=\(tcpFlags) len=\(payloadLength) icmp=\(icmp) fragment=\(fragment)"
        }
    }

    static let fieldNames = [
        "frame.number", "ieee8021ad.id", "vlan.id", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
        "ip.flags.mf", "ip.frag_offset", "ipv6.fraghdr.offset", "ipv6.fraghdr.more",
        "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.flags", "tcp.len",
        "udp.srcport", "udp.dstport", "udp.length", "icmp.type", "icmpv6.type",
    ]

    /// A seeded mix of Ethernet frames: 0 to 2 VLAN tags; IPv4 or IPv6 (with extension headers);
    /// TCP with options, UDP, ICMP; plus the sample capture's frames.
    static func variedFrames(count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SeededGenerator(seed: seed)
        var frames = SampleCapture.frames().map(\.bytes)
        for _ in 0..<count {
            let v4 = random.bool()
            let payload = (0..<random.int(0...80)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let transport: TransportFields
            switch random.int(0...2) {
            case 0:
                var tcp = TCPFields(sourcePort: random.port(), destinationPort: random.port(),
                                    flags: TCPFlags(rawValue: UInt16(random.int(0...0xFF))))
                tcp.sequenceNumber = UInt32(truncatingIfNeeded: random.next())
                tcp.acknowledgmentNumber = UInt32(truncatingIfNeeded: random.next())
                if random.bool() { tcp.maximumSegmentSize = UInt16(random.int(536...9001)) }
                if random.bool() { tcp.timestamps = TCPTimestamps(value: 1, echoReply: 2) }
                transport = .tcp(tcp)
            case 1:
                transport = .udp(UDPFields(sourcePort: random.port(), destinationPort: UInt16(random.int(10000...60000))))
            default:
                transport = .icmp(.echo(request: random.bool(), v6: !v4, identifier: random.port(), sequence: random.port()))
            }
            let packet: [UInt8]
            if v4 {
                let fields = IPv4Fields(source: IPv4Address(UInt32(truncatingIfNeeded: random.next())),
                                        destination: IPv4Address(UInt32(truncatingIfNeeded: random.next())))
                packet = PacketBuilder.ipv4Packet(fields, transport, payload: payload)
            } else {
                var fields = IPv6Fields(source: IPv6Address(high: 0xFD00_0000_0000_0000 | random.next() >> 16, low: random.next()),
                                        destination: IPv6Address(high: 0xFD00_0000_0000_0000 | random.next() >> 16, low: random.next()))
                if random.bool() { fields.extensionHeaders.append(.hopByHop(length: 8)) }
                if random.bool() { fields.extensionHeaders.append(.destinationOptions(length: 16)) }
                packet = PacketBuilder.ipv6Packet(fields, transport, payload: payload)
            }
            var ethernet = EthernetFields(destination: MACAddress(0x0200_0000_0002), source: MACAddress(0x0200_0000_0001),
                                          etherType: v4 ? .ipv4 : .ipv6)
            ethernet.vlanIDs = (0..<random.int(0...2)).map { _ in UInt16(random.int(1...4094)) }
            var header = [UInt8](repeating: 0, count: ethernet.headerLength)
            _ = header.withUnsafeMutableBytes { PacketBuilder.ethernet(ethernet, into: $0) }
            frames.append(header + packet)
        }
        return frames
    }

    /// Reads the fields back out of one `privet inspect` line.
    static func parse(inspectLine line: String) -> Fields {
        var fields = Fields()
        var words = line.split(separator: " ").map(String.init).dropFirst(2)  // number, time
        var vlans: [String] = []
        while words.first == "vlan" {
            words.removeFirst()
            vlans.append(String(words.removeFirst().dropLast()))
        }
        fields.vlans = vlans.joined(separator: ",")
        guard let family = words.first, family == "IP" || family == "IP6" else { return fields }
        let rest = Array(words.dropFirst())
        let text = rest.joined(separator: " ")
        let source = rest[0]
        let destination = String(rest[2].dropLast())  // trailing ":"
        let kind = rest.count > 3 ? rest[3] : ""
        let hasPorts = kind == "Flags" || kind == "UDP,"
        func split(_ endpoint: String) -> (String, String) {
            guard hasPorts, let dot = endpoint.lastIndex(of: ".") else { return (endpoint, "") }
            return (String(endpoint[..<dot]), String(endpoint[endpoint.index(after: dot)...]))
        }
        (fields.source, fields.sourcePort) = split(source)
        (fields.destination, fields.destinationPort) = split(destination)
        func value(after key: String) -> String {
            guard let range = text.range(of: key) else { return "" }
            return String(text[range.upperBound...].prefix { $0.isNumber || ($0.isLetter && key == "Flags [") || $0 == "." })
        }
        if kind == "Flags" {
            fields.tcpSequence = value(after: "seq ")
            var bits: UInt16 = 0
            for (letter, flag) in [("S", TCPFlags.syn), ("F", .fin), ("R", .rst), ("P", .psh), ("U", .urg),
                                   ("E", .ece), ("W", .cwr), (".", .ack)] where value(after: "Flags [").contains(letter) {
                bits |= flag.rawValue
            }
            fields.tcpFlags = String(bits)
            fields.payloadLength = String(text[text.range(of: "length ", options: .backwards)!.upperBound...])
        } else if kind == "UDP," {
            fields.payloadLength = value(after: "length ")
        }
        fields.icmp = text.contains(": ICMP")
        fields.fragment = text.contains(" fragment id ")
        return fields
    }

    /// Reads the same fields out of one line of `tshark -T fields`.
    static func parse(tsharkLine line: String) -> Fields {
        let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        func column(_ name: String) -> String {
            let value = columns[fieldNames.firstIndex(of: name)!]
            return String(value.prefix { $0 != "," })  // first occurrence: the outer header
        }
        var fields = Fields()
        let vlans = [columns[1], columns[2]].filter { !$0.isEmpty }.joined(separator: ",")
        fields.vlans = vlans
        fields.source = column("ip.src").isEmpty ? column("ipv6.src") : column("ip.src")
        fields.destination = column("ip.dst").isEmpty ? column("ipv6.dst") : column("ip.dst")
        fields.fragment = column("ip.flags.mf") == "1" || !["", "0"].contains(column("ip.frag_offset"))
            || !column("ipv6.fraghdr.offset").isEmpty
        fields.icmp = !column("icmp.type").isEmpty || !column("icmpv6.type").isEmpty
        if fields.fragment || fields.icmp { return fields }
        // A GENEVE packet carries TCP inside UDP: the outer UDP is what the line leads with.
        if !column("tcp.srcport").isEmpty && column("udp.dstport") != "\(GENEVEHeader.udpPort)" {
            fields.sourcePort = column("tcp.srcport")
            fields.destinationPort = column("tcp.dstport")
            fields.tcpSequence = column("tcp.seq_raw")
            fields.tcpFlags = String(UInt16(column("tcp.flags").dropFirst(2), radix: 16)! & 0xFF)
            fields.payloadLength = column("tcp.len")
        } else if !column("udp.srcport").isEmpty {
            fields.sourcePort = column("udp.srcport")
            fields.destinationPort = column("udp.dstport")
            fields.payloadLength = String(Int(column("udp.length"))! - 8)
        }
        return fields
    }

    @Test(.enabled(if: tsharkPath != nil, "tshark (Debian's tshark package) is not installed"))
    func inspectAgreesWithTshark() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("varied.pcap")
        let frames = Self.variedFrames(count: 400, seed: 2026)
        let writer = try CaptureWriter(path: path, linkType: .ethernet)
        for (index, frame) in frames.enumerated() {
            frame.withUnsafeBytes { writer.write($0, timestampNanoseconds: 1_700_000_000_000_000_000 + Int64(index) * 1000) }
        }
        try writer.close()

        var inspector = try CaptureInspector(path: path)
        var ours: [String] = []
        try inspector.run { ours.append($0) }

        var arguments = ["-n", "-r", path, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,",
                         "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]
        for name in Self.fieldNames { arguments += ["-e", name] }
        let tshark = try runProgram(tsharkPath!, arguments)
        #expect(tshark.status == 0, "\(tshark.error)")
        let theirs = tshark.output.split(separator: "\n").map(String.init)
        #expect(ours.count == frames.count)
        #expect(theirs.count == frames.count)

        var compared = 0
        for (index, (mine, other)) in zip(ours, theirs).enumerated() {
            if mine.contains("malformed") || mine.contains("ethertype") { continue }
            let expected = Self.parse(tsharkLine: other)
            let actual = Self.parse(inspectLine: mine)
            #expect(actual == expected, "packet \(index + 1): privet «\(mine)» vs tshark «\(other)»")
            compared += 1
        }
        #expect(compared >= frames.count - 2)
    }
}

extension SeededGenerator {
    mutating func bool() -> Bool { next() & 1 == 1 }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func port() -> UInt16 { UInt16(truncatingIfNeeded: next()) }
}
