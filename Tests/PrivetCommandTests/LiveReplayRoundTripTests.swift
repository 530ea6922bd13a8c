import Foundation
import Glibc
import PacketIO
import PacketWire
import Testing
import TestSupport
import Topology

extension LiveCommandTests {
    /// Replaying a live run gives what the live run did. Every host's TUN device of the default
    /// topology is captured (dumpcap) while curl goes through the interface endpoint from both
    /// zones, through the GWLB's appliance to the internet, and to S3 through the gateway
    /// endpoint; what each host sent is merged and replayed; and what the replay sent each host
    /// is compared with what the host received live, packet by packet. Health probes and DNS
    /// start inside Privet and are left out on both sides. The replay has the live run's workers,
    /// so its NAT ports are the ones the live workers chose.
    @Test func replayOfALiveCaptureMatchesTheLiveRun() throws {
        let run = try LiveRun(name: "live-replay", yaml: Topology.defaultYAML)
        let model = Topology.load(yaml: Topology.defaultYAML).topology!
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        // Each capture stops by itself (a signal from the test process may be held back).
        var captures: [(host: String, path: String, process: Process)] = []
        for host in model.hosts {
            let path = folder.file("live-\(host.name).pcap")
            captures.append((host.name, path, try run.start(host.name, "dumpcap", ["-q", "-P", "-a", "duration:9", "-i", try device(run, host.name),
                                                                                   "-w", path])))
        }
        sleep(2)
        #expect(try run.get("client-a", "http://api.privet.example/") == "served by web-a in us-east-1a")
        #expect(try run.get("client-b", "http://api.privet.example/") == "served by web-b in us-east-1b")
        #expect(try run.get("client-a", "http://198.51.100.10/") == "served by internet-server in internet")
        #expect(try run.get("client-a", "http://52.216.10.10/") == "served by s3 in com.amazonaws.us-east-1.s3")
        for capture in captures { capture.process.waitUntilExit() }
        run.stop()

        // Each host's own addresses, and what is left out: health probes (TCP from a load
        // balancer node's address, on ports outside the NLB's source-NAT range) and DNS.
        var addresses: [String: Set<String>] = [:]
        for host in model.hosts {
            switch host.placement {
            case .vpc(let eni): addresses[host.name] = Set([model[eni].ipv4?.description, model[eni].ipv6?.description].compactMap { $0 })
            case .external(_, let ipv4, let ipv6): addresses[host.name] = Set([ipv4?.description, ipv6?.description].compactMap { $0 })
            }
        }
        let nodes = Set(model.loadBalancers.flatMap { $0.nodes.map { model[$0.interface].ipv4!.description } })
        func startsInsidePrivet(_ packet: Packet) -> Bool {
            func probePort(_ port: UInt16) -> Bool { port < 10000 || port >= 65000 }
            let probe = (nodes.contains(packet.source) && probePort(packet.sourcePort))
                || (nodes.contains(packet.destination) && probePort(packet.destinationPort))
            return (packet.isTCP && probe) || packet.sourcePort == 53 || packet.destinationPort == 53
        }

        var sent: [Packet] = [], received: [String: [Packet]] = [:]
        for capture in captures {
            for packet in try Packet.read(capture.path) where !startsInsidePrivet(packet) {
                if addresses[capture.host]!.contains(packet.source) { sent.append(packet) }
                if addresses[capture.host]!.contains(packet.destination) { received[capture.host, default: []].append(packet) }
            }
        }
        let merged = folder.file("merged.pcap")
        let writer = try CaptureWriter(path: merged, linkType: .rawIP)
        for packet in sent.sorted(by: { $0.time < $1.time }) { packet.bytes.withUnsafeBytes { writer.write($0, timestampNanoseconds: packet.time) } }
        try writer.close()
        let topologyPath = folder.file("default.yaml")
        try Topology.defaultYAML.write(toFile: topologyPath, atomically: false, encoding: .utf8)
        let output = folder.file("replayed")
        #expect(run.workers >= 1)
        let replay = try runProgram(privetExecutable()!, ["replay", topologyPath, "--input", merged, "--output", output,
                                                          "--workers", String(run.workers)])
        #expect(replay.status == 0, "\(replay.error)")

        var replayed: [String: [Packet]] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: output) where file.hasSuffix(".pcap") && file != "dropped.pcap" {
            for packet in try Packet.read(output + "/" + file) where !startsInsidePrivet(packet) {
                guard let host = addresses.first(where: { $0.value.contains(packet.destination) })?.key else { continue }
                replayed[host, default: []].append(packet)
            }
        }
        var compared = 0
        for host in model.hosts.map(\.name) {
            let live = received[host, default: []].map(\.bytes), again = replayed[host, default: []].map(\.bytes)
            let differing = zip(live, again).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            #expect(live.count == again.count && differing.isEmpty,
                    "\(host): \(live.count) packets live, \(again.count) replayed; differing at \(differing.prefix(5)): \(differing.first.map { "live \(live[$0]) replayed \(again[$0])" } ?? "")")
            compared += live.count
        }
        #expect(compared > 40, "the curls' packets were compared: \(compared)")
        #expect(replayed["appliance-a", default: []].count >= 6, "the inspected connection crossed the appliance, both ways: handshake, request, response, close")
    }
}

/// A captured IP packet with the fields the round trip sorts and filters by; its checksums
/// finished where the sender left them partial for its device's offload.
struct Packet {
    var time: Int64
    var bytes: [UInt8]
    var source = ""
    var destination = ""
    var sourcePort: UInt16 = 0
    var destinationPort: UInt16 = 0
    var isTCP = false

    static func read(_ path: String) throws -> [Packet] {
        let reader = try CaptureReader(path: path)
        var packets: [Packet] = []
        while let captured = try reader.next() {
            var packet = Packet(time: captured.time.nanosecondsSinceEpoch ?? 0, bytes: Array(captured.bytes))
            packet.bytes.withUnsafeMutableBytes { buffer in
                PartialChecksum.complete(buffer)
                guard let dissection = try? PacketDissection(linkType: reader.linkType, bytes: buffer) else { return }
                switch dissection.network {
                case .ipv4(let ip): (packet.source, packet.destination) = (ip.source.description, ip.destination.description)
                case .ipv6(let ip): (packet.source, packet.destination) = (ip.source.description, ip.destination.description)
                case .other: break
                }
                switch dissection.transport {
                case .tcp(let tcp): (packet.sourcePort, packet.destinationPort, packet.isTCP) = (tcp.sourcePort, tcp.destinationPort, true)
                case .udp(let udp): (packet.sourcePort, packet.destinationPort) = (udp.sourcePort, udp.destinationPort)
                default: break
                }
            }
            packets.append(packet)
        }
        return packets
    }
}
