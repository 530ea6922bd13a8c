import Dataplane
import PacketWire
import ReferenceAppliance
import Topology

/// A host's small TCP/UDP stack: client sockets that run one request each, and servers that
/// answer them. Servers say who they are in their answers ("served by web-a in us-east-1a"), so
/// that a client knows which target it reached.
struct SimulatedHost {
    let name: String
    let index: Int
    let server: Host.Server?
    var ipv4: IPv4Address?
    var ipv6: IPv6Address?
    var vpc: Int?
    var zone = ""
    var port: Int?
    /// The reference GWLB appliance's judgement, for a host that runs it.
    var appliance: ApplianceInspector?

    /// One end of a TCP connection or a UDP exchange, keyed by the 5-tuple as this host sends.
    struct Socket {
        var connection: Int?
        var isClient: Bool
        var transport: SimulatedConnection.Transport
        var localSequence: UInt32
        var remoteSequence: UInt32 = 0
        var requestBytes: Int
        var responseBytes: Int
        var received = 0
        var server = ""
        /// A server sent its FIN with the last of its answer.
        var finSent = false
    }

    struct Key: Hashable {
        var local: String
        var localPort: UInt16
        var remote: String
        var remotePort: UInt16
        var tcp: Bool
    }

    var sockets: [Key: Socket] = [:]
    var nextPort: UInt16 = 32768
    static let segmentSize = 1448

    // MARK: Client side

    /// Opens a connection; returns its first packet (a SYN, or the UDP request).
    mutating func open(connection: Int, to destination: String, port: UInt16, transport: SimulatedConnection.Transport,
                       requestBytes: Int, responseBytes: Int, random: inout SimulationRandom) -> [UInt8] {
        let v6 = destination.contains(":")
        let local = (v6 ? ipv6?.description : ipv4?.description) ?? ""
        let localPort = nextPort
        nextPort = nextPort == 60999 ? 32768 : nextPort + 1
        let key = Key(local: local, localPort: localPort, remote: destination, remotePort: port, tcp: transport == .tcp)
        var socket = Socket(connection: connection, isClient: true, transport: transport,
                            localSequence: UInt32(truncatingIfNeeded: random.next()), requestBytes: requestBytes,
                            responseBytes: responseBytes)
        let packet: [UInt8]
        if transport == .tcp {
            packet = SimulatedHost.tcp(key, flags: .syn, seq: socket.localSequence, ack: 0, mss: 1460)
            socket.localSequence &+= 1
        } else {
            packet = SimulatedHost.udp(key, payload: SimulatedHost.request(bytes: requestBytes, asking: responseBytes))
        }
        sockets[key] = socket
        return packet
    }

    /// The connection a packet this host sent belongs to.
    func connection(sending bytes: [UInt8]) -> Int? {
        guard let (key, _) = SimulatedHost.parse(bytes, asSender: true) else { return nil }
        return sockets[key]?.connection
    }

    // MARK: Receiving

    /// Handles a packet delivered to this host: the packets it sends back, and the connections
    /// it finished.
    mutating func receive(_ bytes: [UInt8], random: inout SimulationRandom) -> ([[UInt8]], [(Int, ConnectionOutcome)]) {
        guard let (key, segment) = SimulatedHost.parse(bytes, asSender: false) else { return ([], []) }
        if let appliance, !key.tcp, key.localPort == GENEVEHeader.udpPort { return (inspected(bytes, by: appliance), []) }
        if !key.tcp { return receiveUDP(key, segment) }
        guard var socket = sockets[key] else {
            // A SYN to a listening port opens a server socket; to any other port, a RST.
            if segment.flags == .syn, let server, server.port == key.localPort, server.kind != .udpEcho {
                let socket = Socket(connection: nil, isClient: false, transport: .tcp,
                                    localSequence: UInt32(truncatingIfNeeded: random.next()), remoteSequence: segment.seq &+ 1,
                                    requestBytes: 0, responseBytes: 0)
                sockets[key] = socket
                sockets[key]!.localSequence &+= 1
                return ([SimulatedHost.tcp(key, flags: [.syn, .ack], seq: socket.localSequence, ack: socket.remoteSequence, mss: 1460)], [])
            }
            if !segment.flags.contains(.rst) {
                return ([SimulatedHost.tcp(key, flags: [.rst, .ack], seq: 0, ack: segment.seq &+ 1, mss: nil)], [])
            }
            return ([], [])
        }
        if segment.flags.contains(.rst) {
            sockets[key] = nil
            return ([], socket.connection.map { [($0, .reset)] } ?? [])
        }
        // Like HTTP/1.0: the server answers and closes; the client acknowledges the data and
        // closes its side when the server's FIN comes.
        var replies: [[UInt8]] = []
        var finished: [(Int, ConnectionOutcome)] = []
        if socket.isClient {
            if segment.flags.contains(.syn) && segment.flags.contains(.ack) {
                // Handshake done: the request rides on the ACK.
                socket.remoteSequence = segment.seq &+ 1
                let request = SimulatedHost.request(bytes: socket.requestBytes, asking: socket.responseBytes)
                replies.append(SimulatedHost.tcp(key, flags: [.psh, .ack], seq: socket.localSequence, ack: socket.remoteSequence,
                                                 mss: nil, payload: request))
                socket.localSequence &+= UInt32(request.count)
                sockets[key] = socket
                return (replies, finished)
            }
            if !segment.payload.isEmpty {
                if socket.received == 0 { socket.server = SimulatedHost.servedBy(segment.payload) ?? "" }
                socket.received += segment.payload.count
                socket.remoteSequence = segment.seq &+ UInt32(segment.payload.count)
            }
            if segment.flags.contains(.fin) {
                socket.remoteSequence &+= 1
                replies.append(SimulatedHost.tcp(key, flags: [.fin, .ack], seq: socket.localSequence, ack: socket.remoteSequence, mss: nil))
                if let connection = socket.connection { finished.append((connection, .completed(server: socket.server))) }
                sockets[key] = nil
                return (replies, finished)
            }
            if !segment.payload.isEmpty {
                replies.append(SimulatedHost.tcp(key, flags: .ack, seq: socket.localSequence, ack: socket.remoteSequence, mss: nil))
            }
        } else {
            if socket.finSent {
                // The client's FIN after ours: the last ACK, and the socket is done.
                if segment.flags.contains(.fin) {
                    replies.append(SimulatedHost.tcp(key, flags: .ack, seq: socket.localSequence,
                                                     ack: segment.seq &+ UInt32(segment.payload.count) &+ 1, mss: nil))
                    sockets[key] = nil
                }
                return (replies, finished)
            }
            if !segment.payload.isEmpty {
                socket.remoteSequence = segment.seq &+ UInt32(segment.payload.count)
                let response = answer(segment.payload)
                var offset = 0
                while offset < response.count {
                    let end = min(offset + SimulatedHost.segmentSize, response.count)
                    let last = end == response.count
                    replies.append(SimulatedHost.tcp(key, flags: last ? [.psh, .ack, .fin] : .ack, seq: socket.localSequence,
                                                     ack: socket.remoteSequence, mss: nil, payload: Array(response[offset..<end])))
                    socket.localSequence &+= UInt32(end - offset)
                    offset = end
                }
                socket.localSequence &+= 1
                socket.finSent = true
            }
        }
        sockets[key] = socket
        return (replies, finished)
    }

    private mutating func receiveUDP(_ key: Key, _ segment: Segment) -> ([[UInt8]], [(Int, ConnectionOutcome)]) {
        if let socket = sockets[key], socket.isClient {
            sockets[key] = nil
            return ([], socket.connection.map { [($0, .completed(server: SimulatedHost.servedBy(segment.payload) ?? ""))] } ?? [])
        }
        guard let server, server.kind == .udpEcho, server.port == key.localPort else { return ([], []) }
        return ([SimulatedHost.udp(key, payload: answer(segment.payload))], [])
    }

    /// What the appliance sends back of a GENEVE packet it keeps: the same bytes, outer
    /// addresses swapped, UDP ports as they came (docs/aws-behaviour.md §6).
    private func inspected(_ bytes: [UInt8], by appliance: ApplianceInspector) -> [[UInt8]] {
        var reply = bytes
        let kept = reply.withUnsafeMutableBytes { buffer -> Bool in
            guard let ip = try? IPv4Packet(buffer), let udp = try? UDPDatagram(ip.payload) else { return false }
            return appliance.inspect(udp.payload) == .returned
        }
        guard kept, reply.count >= 20 else { return [] }
        for offset in 12..<16 { reply.swapAt(offset, offset + 4) }
        return [reply]
    }

    /// What the server sends for a request: an HTTP response of the size asked for, or the
    /// request echoed (with who echoed it in front). The appliance answers HTTP health checks.
    func answer(_ request: [UInt8]) -> [UInt8] {
        let identity = "served by \(name) in \(zone)\n"
        if server?.kind == .http || server?.kind == .appliance {
            let text = String(decoding: request, as: UTF8.self)
            let asked = text.split(separator: "=", maxSplits: 1).dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) } ?? 600
            let head = "HTTP/1.0 200 OK\r\nServer: privet\r\nConnection: close\r\n\r\n"
            // The body pads the response to the size the client asked for.
            let body = Array(identity.utf8) + [UInt8](repeating: 0x2E, count: max(0, asked - head.utf8.count - identity.utf8.count))
            return Array(head.utf8) + body
        }
        return Array(identity.utf8) + request
    }

    static func request(bytes: Int, asking size: Int) -> [UInt8] {
        let line = "GET /?size=\(size) HTTP/1.1\r\nHost: service\r\n\r\n"
        return Array(line.utf8) + [UInt8](repeating: 0x20, count: max(0, bytes - line.utf8.count))
    }

    static func servedBy(_ payload: [UInt8]) -> String? {
        let text = String(decoding: payload.prefix(300), as: UTF8.self)
        guard let range = text.range(of: "served by ") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\n" })
    }

    // MARK: Packets

    struct Segment {
        var flags = TCPFlags()
        var seq: UInt32 = 0
        var payload: [UInt8] = []
    }

    /// The socket key of a packet: as this host sends it (`asSender`), or as it receives it.
    static func parse(_ bytes: [UInt8], asSender: Bool) -> (Key, Segment)? {
        var copy = bytes
        return copy.withUnsafeMutableBytes { buffer -> (Key, Segment)? in
            guard let packet = try? PacketDissection(etherType: bytes.first.map { $0 >> 4 == 6 } == true ? .ipv6 : .ipv4,
                                                     bytes: buffer) else { return nil }
            var source = "", destination = ""
            switch packet.network {
            case .ipv4(let ip): (source, destination) = (ip.source.description, ip.destination.description)
            case .ipv6(let ip): (source, destination) = (ip.source.description, ip.destination.description)
            case .other: return nil
            }
            var segment = Segment()
            let ports: (UInt16, UInt16)
            let tcp: Bool
            switch packet.transport {
            case .tcp(let view):
                ports = (view.sourcePort, view.destinationPort)
                segment.flags = view.flags
                segment.seq = view.sequenceNumber
                segment.payload = Array(view.payload)
                tcp = true
            case .udp(let view):
                ports = (view.sourcePort, view.destinationPort)
                segment.payload = Array(view.payload)
                tcp = false
            default:
                return nil
            }
            let key = asSender ? Key(local: source, localPort: ports.0, remote: destination, remotePort: ports.1, tcp: tcp)
                : Key(local: destination, localPort: ports.1, remote: source, remotePort: ports.0, tcp: tcp)
            return (key, segment)
        }
    }

    static func tcp(_ key: Key, flags: TCPFlags, seq: UInt32, ack: UInt32, mss: UInt16?, payload: [UInt8] = []) -> [UInt8] {
        var fields = TCPFields(sourcePort: key.localPort, destinationPort: key.remotePort, flags: flags)
        fields.sequenceNumber = seq
        fields.acknowledgmentNumber = ack
        fields.maximumSegmentSize = mss
        fields.window = 65535
        return ip(key, .tcp(fields), payload: payload)
    }

    static func udp(_ key: Key, payload: [UInt8]) -> [UInt8] {
        ip(key, .udp(UDPFields(sourcePort: key.localPort, destinationPort: key.remotePort)), payload: payload)
    }

    static func ip(_ key: Key, _ transport: TransportFields, payload: [UInt8]) -> [UInt8] {
        if let source = IPv4Address(key.local), let destination = IPv4Address(key.remote) {
            return PacketBuilder.ipv4Packet(IPv4Fields(source: source, destination: destination), transport, payload: payload)
        }
        return PacketBuilder.ipv6Packet(IPv6Fields(source: IPv6Address(key.local)!, destination: IPv6Address(key.remote)!),
                                        transport, payload: payload)
    }
}
