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
        #expect(first == nil, "one failure is under the threshold of 2")
        let (_, second) = round(&checker, at: 200, status: "HTTP/1.0 503 Service Unavailable\r\n\r\n")
        #expect(second?.healthy == false && second?.reason == "2 checks in a row: HTTP 503")
        var back: HealthChecker.Change?
        for index in 0..<5 { back = round(&checker, at: 300 + 100 * Int64(index), status: "HTTP/1.1 301 Moved\r\n\r\n").change ?? back }
        #expect(back?.healthy == true && back?.reason == "5 checks in a row: HTTP 301", "200 to 399 is healthy")
    }
}
