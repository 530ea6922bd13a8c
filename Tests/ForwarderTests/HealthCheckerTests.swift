import Testing
@testable import Forwarder
import Dataplane
import PacketWire
import Topology

/// Health checks as the target sees them: an HTTP check on the default topology's web targets
/// (`healthCheck: {protocol: HTTP, path: /}`), answered by hand.
@Suite("Health checks")
struct HealthCheckerTests {
    let topology = Topology.load(yaml: Topology.defaultYAML).topology!
    var tables: ForwardingTables { topology.forwardingTables() }

    struct Probe {
        var source: IPv4Address
        var destination: IPv4Address
        var sourcePort: UInt16
        var destinationPort: UInt16
        var flags: TCPFlags
        var sequence: UInt32
        var acknowledgment: UInt32
        var payload: String
    }

    static func read(_ bytes: [UInt8]) -> Probe? {
        var copy = bytes
        return copy.withUnsafeMutableBytes { buffer in
            guard let ip = try? IPv4Packet(buffer), let tcp = try? TCPSegment(ip.payload) else { return nil }
            return Probe(source: ip.source, destination: ip.destination, sourcePort: tcp.sourcePort, destinationPort: tcp.destinationPort,
                         flags: tcp.flags, sequence: tcp.sequenceNumber, acknowledgment: tcp.acknowledgmentNumber,
                         payload: String(decoding: tcp.payload, as: UTF8.self))
        }
    }

    /// The target's answer to a probe.
    static func reply(to probe: Probe, _ flags: TCPFlags, sequence: UInt32, payload: String = "") -> [UInt8] {
        var fields = TCPFields(sourcePort: probe.destinationPort, destinationPort: probe.sourcePort, flags: flags)
        fields.sequenceNumber = sequence
        fields.acknowledgmentNumber = probe.sequence &+ 1
        return PacketBuilder.ipv4Packet(IPv4Fields(source: probe.destination, destination: probe.source), .tcp(fields),
                                        payload: Array(payload.utf8))
    }

    /// One round for web-a: the SYN, the SYN-ACK back, the request, the status line back.
    func round(_ checker: inout HealthChecker, at seconds: Int64, status: String) -> (request: Probe?, change: HealthChecker.Change?) {
        var sent: [[UInt8]] = []
        _ = checker.poll(now: seconds * 1_000_000_000) { sent.append($0) }
        let web = topology.hosts.first { $0.name == "web-a" }!
        guard case .vpc(let eni) = web.placement, let syn = sent.compactMap(Self.read).first(where: { $0.destination == topology[eni].ipv4 })
        else { return (nil, nil) }
        var request: [[UInt8]] = []
        var answer = Self.reply(to: syn, [.syn, .ack], sequence: 5000)
        #expect(answer.withUnsafeMutableBytes { checker.receive($0) { request.append($0) } } == nil, "no verdict on the handshake")
        guard let get = request.first.flatMap(Self.read) else { return (nil, nil) }
        var response = Self.reply(to: get, [.psh, .ack], sequence: 5001, payload: status)
        var closing: [[UInt8]] = []
        let change = response.withUnsafeMutableBytes { checker.receive($0) { closing.append($0) } }
        #expect(closing.compactMap(Self.read).first?.flags == .rst, "the probe is closed with a RST")
        return (get, change)
    }

    @Test func httpChecksAskForThePathAndJudgeTheStatus() {
        var checker = HealthChecker(topology: topology, tables: tables, now: 0)
        let (request, first) = round(&checker, at: 100, status: "HTTP/1.0 500 Internal Server Error\r\n\r\n")
        #expect(request?.payload.hasPrefix("GET / HTTP/1.0\r\n") == true, "\(String(describing: request?.payload))")
        #expect(request?.flags == [.psh, .ack] && request?.acknowledgment == 5001)
        // One failure is under the threshold of 2: still healthy, but the first result is told.
        #expect(first?.healthy == true && first?.reason == "first check failed: HTTP 500", "\(String(describing: first))")
        let (_, second) = round(&checker, at: 200, status: "HTTP/1.0 503 Service Unavailable\r\n\r\n")
        #expect(second?.healthy == false && second?.reason == "2 checks in a row: HTTP 503")
        var back: HealthChecker.Change?
        for index in 0..<5 { back = round(&checker, at: 300 + 100 * Int64(index), status: "HTTP/1.1 301 Moved\r\n\r\n").change ?? back }
        #expect(back?.healthy == true && back?.reason == "5 checks in a row: HTTP 301", "200 to 399 is healthy")
    }

    /// To a group with Proxy Protocol v2, the HTTP check's data starts with a PROXY v2 header of
    /// command LOCAL (no client: the node made the connection itself), then the request; a TCP
    /// check sends the header after the handshake, then closes with a RST after it.
    @Test func checksOfAProxyProtocolGroupStartWithALocalHeader() throws {
        let yaml = Topology.defaultYAML.replacingOccurrences(of: "    targets: [{host: web-a}, {host: web-b}]\n",
                                                             with: "    targets: [{host: web-a}, {host: web-b}]\n    proxyProtocolV2: true\n")
        let proxied = try #require(Topology.load(yaml: yaml).topology)
        var checker = HealthChecker(topology: proxied, tables: proxied.forwardingTables(), now: 0)
        let local: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00]
        var sent: [[UInt8]] = []
        _ = checker.poll(now: 100_000_000_000) { sent.append($0) }
        let web = try #require(sent.compactMap(Self.read).first { $0.destinationPort == 80 && $0.destination.description == "10.10.1.4" })
        var answer = Self.reply(to: web, [.syn, .ack], sequence: 5000)
        var request: [[UInt8]] = []
        _ = answer.withUnsafeMutableBytes { checker.receive($0) { request.append($0) } }
        let get = try #require(request.first)
        #expect(Array(get.suffix(from: 40).prefix(16)) == local)
        #expect(String(decoding: get.suffix(from: 56), as: UTF8.self).hasPrefix("GET / HTTP/1.0\r\n"))

        // The appliances' group has no header: a TCP check is a handshake and a RST.
        let tcpYAML = yaml.replacingOccurrences(of: "healthCheck: {protocol: HTTP, path: /}", with: "healthCheck: {protocol: TCP}")
        let tcpTopology = try #require(Topology.load(yaml: tcpYAML).topology)
        var tcpChecker = HealthChecker(topology: tcpTopology, tables: tcpTopology.forwardingTables(), now: 0)
        sent.removeAll()
        _ = tcpChecker.poll(now: 100_000_000_000) { sent.append($0) }
        let probe = try #require(sent.compactMap(Self.read).first { $0.destinationPort == 80 && $0.destination.description == "10.10.1.4" })
        var synAck = Self.reply(to: probe, [.syn, .ack], sequence: 5000)
        var closing: [[UInt8]] = []
        let change = synAck.withUnsafeMutableBytes { tcpChecker.receive($0) { closing.append($0) } }
        #expect(change == nil || change?.healthy == true)
        let segments = closing.compactMap(Self.read)
        #expect(segments.count == 2 && segments[0].flags == [.psh, .ack] && segments[1].flags == .rst)
        #expect(Array(closing[0].suffix(from: 40)) == local)
        #expect(segments[1].sequence == segments[0].sequence &+ 16, "the RST after the header")
    }
}
