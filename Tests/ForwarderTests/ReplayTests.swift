import Foundation
import Testing
import Dataplane
import DataplaneFixtures
import Forwarder
import PacketIO
import PacketWire
import TestSupport
import Topology

@Suite("Replay")
struct ReplayTests {
    static let topology = Topology.load(yaml: Topology.defaultYAML).topology!

    static func interface(host: String) -> NetworkInterface {
        guard case .vpc(let eni) = topology.hosts.first(where: { $0.name == host })!.placement else { fatalError() }
        return topology[eni]
    }

    static func endpointENI(zone: String) -> NetworkInterface {
        topology.endpoints[0].interfaces.map { topology[$0] }.first { topology[topology[$0.subnet].zone].name == zone }!
    }

    static func node(zone: String) -> NetworkInterface {
        topology.loadBalancers[0].nodes.map { topology[$0.interface] }.first { topology[topology[$0.subnet].zone].name == zone }!
    }

    /// What the hosts sent, in order, one millisecond apart from t = 1000 s: a connection through
    /// the endpoint (the target answers the NLB's first source port, 10000), and the cases that
    /// must fail.
    static func capture() -> [[UInt8]] {
        let client = interface(host: "client-a").ipv4!, web = interface(host: "web-a").ipv4!
        let endpoint = endpointENI(zone: "us-east-1a").ipv4!, node = node(zone: "us-east-1a").ipv4!
        let partner = interface(host: "partner-client").ipv4!
        let partnerEndpoint = topology[topology.endpoints[1].interfaces[0]].ipv4!
        let v6Endpoint = endpointENI(zone: "us-east-1a").ipv6!
        var internetSYN = TCPFields(sourcePort: 5555, destinationPort: 80, flags: .syn)
        internetSYN.sequenceNumber = 1
        return [
            Packets.tcp(client, 40000, endpoint, 80, .syn, seq: 100),
            Packets.tcp(web, 80, node, 10000, [.syn, .ack], seq: 500, ack: 101),
            Packets.tcp(client, 40000, endpoint, 80, [.ack, .psh], seq: 101, ack: 501, payload: 32),
            Packets.tcp(web, 80, node, 10000, [.ack, .psh], seq: 501, ack: 133, payload: 64),
            Packets.tcp(web, 80, node, 23456, .syn, seq: 9),
            Packets.tcp(partner, 40001, partnerEndpoint, 80, .syn),
            PacketBuilder.ipv6Packet(IPv6Fields(source: IPv6Address("2001:db8::10")!, destination: v6Endpoint), .tcp(internetSYN)),
            Packets.tcp(client, 40002, endpoint, 80, .syn, payload: 8500),
            Packets.tcp(IPv4Address(192, 0, 2, 1), 1, IPv4Address(192, 0, 2, 2), 2, .syn),
        ]
    }

    static func writeCapture(_ packets: [[UInt8]], to path: String, linkType: LinkType = .rawIP) throws {
        let writer = try CaptureWriter(path: path, linkType: linkType)
        for (index, packet) in packets.enumerated() {
            let framed = linkType == .ethernet ? [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, packet[0] >> 4 == 6 ? 0x86 : 0x08, packet[0] >> 4 == 6 ? 0xDD : 0x00] + packet : packet
            framed.withUnsafeBytes { writer.write($0, timestampNanoseconds: 1_000_000_000_000 + Int64(index) * 1_000_000) }
        }
        try writer.close()
    }

    static func read(_ path: String) throws -> [[UInt8]] {
        let reader = try CaptureReader(path: path)
        var packets: [[UInt8]] = []
        while let packet = try reader.next() { packets.append(Array(packet.bytes)) }
        return packets
    }

    @Test func replayWritesCapturesDropsFlowLogAndReport() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let input = folder.file("in.pcap")
        // Ethernet framing on input: the link layer is stripped, outputs are raw IP.
        try Self.writeCapture(Self.capture(), to: input, linkType: .ethernet)
        let output = folder.file("out")
        let (report, timing) = try Replay(topology: Self.topology, options: Replay.Options(input: input, output: output)).run()
        #expect(timing.seconds > 0)

        #expect(report.input.packets == 9)
        #expect(report.unattributed == 1, "192.0.2.1 belongs to no ENI, gateway or service")
        #expect(report.forwarded.packets == 4)
        #expect(report.dropped.packets == 4)
        #expect(report.drops == ["provider-initiated": 1, "endpoint-rejected": 1, "deny-all-igw-traffic": 1, "endpoint-oversize": 1])

        // The target saw the client's SYN and data from the NLB node; the client saw the
        // endpoint answer.
        let toTarget = try Self.read(output + "/web-a.pcap")
        #expect(toTarget.count == 2)
        let toClient = try Self.read(output + "/client-a.pcap")
        #expect(toClient.count == 2)
        var first = toClient[0]
        try first.withUnsafeMutableBytes { buffer in
            let ip = try IPv4Packet(buffer)
            #expect(ip.source == Self.endpointENI(zone: "us-east-1a").ipv4!)
            #expect(ip.destination == Self.interface(host: "client-a").ipv4!)
        }

        let csv = try String(contentsOfFile: output + "/dropped.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(csv[0] == "packet,time,ingress,reason,source,destination,protocol,source_port,destination_port,length,interface,refused_by")
        #expect(csv.count == 5)
        #expect(csv[1].hasPrefix("5,1000.004000000,web-a,provider-initiated,10.10.1.4,10.10.1.5,6,80,23456,"))
        #expect(csv.contains { $0.contains(",igw-consumer,deny-all-igw-traffic,2001:db8::10,") })
        #expect(try Self.read(output + "/dropped.pcap").count == 4)

        let log = try String(contentsOfFile: output + "/flow-log.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(log[0] == "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status")
        #expect(log.contains { $0.hasSuffix(" ACCEPT OK") && $0.contains(" 10.20.1.4 10.20.1.5 40000 80 6 2 ") })
        #expect(log.contains { $0.hasSuffix(" REJECT OK") && $0.contains(" 10.30.1.4 ") }, "the rejected endpoint's refusal")
        #expect(report.flowRecords == UInt64(log.count - 1))

        #expect(report.targets.first { $0.target == "web-a:80" }?.flows == 1)
        #expect(report.flowsByTargetZone["us-east-1a"] == 1)
        #expect(FileManager.default.fileExists(atPath: output + "/report.json") == false, "the command writes the report files")
    }

    /// A target whose security groups admit no node: the drop names the target's ENI and its
    /// group, and the flow log's REJECT is on that ENI, of the flow it saw (node → target port),
    /// as VPC Flow Logs record it.
    @Test func aTargetsRefusalNamesItsSecurityGroup() throws {
        let yaml = """
            region: us-east-1
            zones: [{name: us-east-1a, id: use1-az1}]
            accounts: [{name: provider, id: "111111111111"}, {name: consumer, id: "222222222222"}]
            vpcs:
              - {name: provider, account: provider, cidr: 10.1.0.0/16}
              - {name: consumer, account: consumer, cidr: 10.2.0.0/16}
            subnets:
              - {name: provider-a, vpc: provider, zone: us-east-1a, cidr: 10.1.1.0/24}
              - {name: consumer-a, vpc: consumer, zone: us-east-1a, cidr: 10.2.1.0/24}
            hosts:
              - {name: server, subnet: provider-a, server: {protocol: http, port: 8080}}
              - {name: client, subnet: consumer-a}
            loadBalancers:
              - {name: nlb, type: network, subnets: [provider-a], listeners: [{protocol: TCP, port: 80, targetGroup: servers}]}
            targetGroups:
              - {name: servers, protocol: TCP, port: 8080, targets: [{host: server}]}
            endpointServices:
              - {name: service, account: provider, loadBalancers: [nlb], acceptanceRequired: false, allowedPrincipals: ["*"]}
            endpoints:
              - {name: endpoint, type: Interface, vpc: consumer, service: service, subnets: [consumer-a]}
            """
        let model = try #require(Topology.load(yaml: yaml).topology)
        func eni(_ host: String) -> NetworkInterface {
            guard case .vpc(let eni) = model.hosts.first(where: { $0.name == host })!.placement else { fatalError() }
            return model[eni]
        }
        let server = eni("server"), client = eni("client")
        let endpoint = model[model.endpoints[0].interfaces[0]], node = model[model.loadBalancers[0].nodes[0].interface]
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let input = folder.file("in.pcap"), output = folder.file("out")
        try Self.writeCapture([Packets.tcp(client.ipv4!, 40000, endpoint.ipv4!, 80, .syn, seq: 1)], to: input)
        let (report, _) = try Replay(topology: model, options: Replay.Options(input: input, output: output)).run()
        #expect(report.dropped.packets == 1)

        let csv = try String(contentsOfFile: output + "/dropped.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        let group = model[server.securityGroups[0]]
        #expect(csv[1].hasSuffix(",security-group-ingress,\(client.ipv4!),\(endpoint.ipv4!),6,40000,80,40,\(server.id),"
                                 + "security group \(group.id) (default) of host 'server'"), "\(csv[1])")
        let log = try String(contentsOfFile: output + "/flow-log.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(log.count == 2)
        #expect(log[1] == "2 111111111111 \(server.id) \(node.ipv4!) \(server.ipv4!) 40000 8080 6 1 40 1000 1000 REJECT OK")
    }

    /// `bothDirections`: a port's capture holds what its host sent, as sent, before what it
    /// received, in time order, as tcpdump on the host's interface would show.
    @Test func aPortsCaptureCanHoldBothDirections() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let input = folder.file("in.pcap")
        let packets = Self.capture()
        try Self.writeCapture(packets, to: input)
        var options = Replay.Options(input: input, output: folder.file("one"))
        _ = try Replay(topology: Self.topology, options: options).run()
        options.output = folder.file("both")
        options.bothDirections = true
        _ = try Replay(topology: Self.topology, options: options).run()
        let received = try Self.read(folder.file("one") + "/client-a.pcap")
        let both = try Self.read(folder.file("both") + "/client-a.pcap")
        let client = Self.interface(host: "client-a").ipv4!
        let sent = packets.filter { $0.count >= 20 && $0[12..<16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } == client.value }
        #expect(sent.count == 3 && received.count == 2)
        #expect(both.count == sent.count + received.count)
        #expect(both.first == sent.first, "the SYN as client-a sent it, untranslated, first")
        #expect(both.filter { received.contains($0) }.count == received.count)
    }

    /// Replays with `options` and returns every file of the output folder, the report's JSON
    /// among them, by name.
    static func replayFiles(_ options: Replay.Options) throws -> (report: ReplayReport, files: [String: Data]) {
        let (report, _) = try Replay(topology: topology, options: options).run()
        try report.json.write(toFile: options.output + "/report.json", atomically: false, encoding: .utf8)
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: options.output) {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: options.output + "/" + name))
        }
        return (report, files)
    }

    /// Two sets of output files hold the same names and bytes.
    static func expectSame(_ files: [[String: Data]], atLeast count: Int) {
        #expect(files[0].keys.sorted() == files[1].keys.sorted())
        #expect(files[0].count >= count)
        for name in files[0].keys { #expect(files[0][name] == files[1][name], "\(name) differs") }
    }

    @Test func theSameInputsGiveByteIdenticalOutputs() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let input = folder.file("in.pcap")
        try Self.writeCapture(Self.capture(), to: input)
        let files = try (0..<2).map { run in try Self.replayFiles(Replay.Options(input: input, output: folder.file("out-\(run)"))).files }
        Self.expectSame(files, atLeast: 5)
    }

    /// With several workers the files are those of the same workers run one after another on one
    /// thread, byte for byte: packets leave in capture order, each worker's records in turn.
    @Test func workersOnThreadsGiveTheFilesOfOneThread() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let input = folder.file("in.pcap")
        let writer = try CaptureWriter(path: input, linkType: .rawIP)
        let simulator = TrafficSimulator(topology: Self.topology, seed: 11, capture: writer)
        for connection in TrafficPlan.connections(count: 400, in: Self.topology, seed: 11) { simulator.add(connection) }
        simulator.run(packetLimit: .max, progress: nil)
        try writer.close()
        let files = try [true, false].map { onThreads in
            var options = Replay.Options(input: input, output: folder.file("out-\(onThreads)"))
            options.workers = 3
            options.shardsOnThreads = onThreads
            let (report, files) = try Self.replayFiles(options)
            #expect(report.forwarded.packets > report.input.packets / 2)
            return files
        }
        Self.expectSame(files, atLeast: 8)
    }

    @Test func eventsChangeHealthAndLifecycleAtTheirTime() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let client = Self.interface(host: "client-a").ipv4!, endpoint = Self.endpointENI(zone: "us-east-1a").ipv4!
        // Three SYNs a second apart; web-a turns unhealthy after the first, and the endpoint is
        // rejected before the third.
        var packets: [[UInt8]] = []
        for index in 0..<3 { packets.append(Packets.tcp(client, UInt16(41000 + index), endpoint, 80, .syn)) }
        let input = folder.file("in.pcap")
        let writer = try CaptureWriter(path: input, linkType: .rawIP)
        for (index, packet) in packets.enumerated() {
            packet.withUnsafeBytes { writer.write($0, timestampNanoseconds: 5_000_000_000 + Int64(index) * 1_000_000_000) }
        }
        try writer.close()
        let events = try ReplayEvent.parse("""
            # time  event  subject
            0.5  target-unhealthy   web-targets/web-a
            0.5  target-unhealthy   web-targets/web-b:80
            1.5  endpoint-rejected  web-endpoint
            """, file: "events", topology: Self.topology)
        #expect(events.count == 3)
        var options = Replay.Options(input: input, output: folder.file("out"))
        options.events = events
        let (report, _) = try Replay(topology: Self.topology, options: options).run()
        #expect(report.events == 3)
        // All unhealthy: fail-open sends the second SYN anyway; the third meets the rejection.
        #expect(report.forwarded.packets == 2)
        #expect(report.drops == ["endpoint-rejected": 1])
    }

    @Test func eventFileErrorsNameTheLine() throws {
        #expect(throws: ForwarderError.self) {
            try ReplayEvent.parse("1 target-sick web-targets/web-a\n", file: "e.txt", topology: Self.topology)
        }
        let error = try #require(throws: ForwarderError.self) {
            try ReplayEvent.parse("1 target-healthy web-targets/web-z\n2 endpoint-rejected nope\nx y\n", file: "e.txt", topology: Self.topology)
        }
        #expect(error.description.contains("e.txt:1: error: no host named 'web-z' in a VPC"))
        #expect(error.description.contains("e.txt:2: error: no endpoint named 'nope'"))
        #expect(error.description.contains("e.txt:3: error: expected TIME EVENT SUBJECT, found 2 words"))
    }
}

extension ReplayTests {
    /// A packet `inspect` calls malformed is a malformed drop in replay, whether or not its
    /// addresses can be read and whoever owns them: the two count alike, and each malformed
    /// packet has its line in dropped.csv.
    @Test func inspectAndReplayAgreeOnMalformedPackets() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let client = Self.interface(host: "client-a").ipv4!, endpoint = Self.endpointENI(zone: "us-east-1a").ipv4!
        var badOffset = Packets.tcp(client, 40000, endpoint, 80, .syn)
        badOffset[32] = 0x40  // TCP data offset 4: below the minimum of 5 (RFC 9293 §3.1)
        var strangerBadOffset = Packets.tcp(IPv4Address(192, 0, 2, 1), 1, IPv4Address(192, 0, 2, 2), 2, .syn)
        strangerBadOffset[32] = 0x40
        var badIHL = Packets.tcp(client, 40001, endpoint, 80, .syn)
        badIHL[0] = 0x44  // IHL 4: the addresses cannot be read
        let notIP: [UInt8] = [0x50] + [UInt8](repeating: 0, count: 39)  // version 5
        var truncated = Packets.tcp(client, 40002, endpoint, 80, .syn, payload: 40)
        truncated.removeLast(20)  // total length says 20 bytes more than the frame holds
        let input = folder.file("in.pcap")
        try Self.writeCapture([Packets.tcp(client, 40003, endpoint, 80, .syn), badOffset, strangerBadOffset, badIHL, notIP, truncated],
                              to: input)

        var inspector = try CaptureInspector(path: input)
        try inspector.run { _ in }
        let inspected = inspector.summary.malformed.reduce(0) { $0 + $1.1 }
        #expect(inspected == 5)

        let output = folder.file("out")
        let (report, _) = try Replay(topology: Self.topology, options: Replay.Options(input: input, output: output)).run()
        #expect(report.drops["malformed"] == UInt64(inspected), "\(report.drops)")
        #expect(report.unattributed == 0)
        #expect(report.forwarded.packets == 1)
        let csv = try String(contentsOfFile: output + "/dropped.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(csv.map { $0.split(separator: ",", omittingEmptySubsequences: false)[0] } == ["2", "3", "4", "5", "6"])
        #expect(csv.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false)[3] == "malformed" })
        #expect(try Self.read(output + "/dropped.pcap").count == 5)
    }
}

extension ReplayTests {
    /// A flood of 200,000 SYNs that are never answered (100,000 a second for two seconds), from
    /// one client through one endpoint zone, four times the NLB's source-port pool: the three
    /// connections established before it lose no packet, and new connections after it (a second
    /// later and a day later) get through; nothing is refused for want of a port or a session.
    @Test func aSYNFloodDeniesNoOne() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let client = Self.interface(host: "client-a").ipv4!, web = Self.interface(host: "web-a").ipv4!
        let endpoint = Self.endpointENI(zone: "us-east-1a").ipv4!, node = Self.node(zone: "us-east-1a").ipv4!
        let input = folder.file("in.pcap")
        let writer = try CaptureWriter(path: input, linkType: .rawIP)
        let start: Int64 = 1_700_000_000_000_000_000, millisecond: Int64 = 1_000_000
        func write(_ packet: [UInt8], at time: Int64) { packet.withUnsafeBytes { writer.write($0, timestampNanoseconds: start + time) } }
        // Three connections, established: the NLB's source ports are handed out from 10000.
        for index in 0..<3 {
            let port = UInt16(30000 + index), nat = UInt16(10000 + index)
            write(Packets.tcp(client, port, endpoint, 80, .syn, seq: 100), at: 0)
            write(Packets.tcp(web, 80, node, nat, [.syn, .ack], seq: 500, ack: 101), at: 0)
            write(Packets.tcp(client, port, endpoint, 80, .ack, seq: 101, ack: 501), at: 0)
        }
        // The flood, and each established connection sending data both ways every 10 ms.
        var template = Packets.tcp(client, 0, endpoint, 80, .syn, seq: 7)
        for index in 0..<200_000 {
            let time = 1000 * millisecond + Int64(index) * 10_000
            let port = UInt16(1024 + index % 60000)
            template[20] = UInt8(port >> 8)
            template[21] = UInt8(port & 0xFF)
            write(template, at: time)
            if index % 1000 == 0 {
                for connection in 0..<3 {
                    let sequence = UInt32(101 + 10 * (index / 1000))
                    write(Packets.tcp(client, UInt16(30000 + connection), endpoint, 80, [.psh, .ack], seq: sequence, ack: 501, payload: 10), at: time)
                    write(Packets.tcp(web, 80, node, UInt16(10000 + connection), .ack, seq: 501, ack: sequence + 10), at: time)
                }
            }
        }
        write(Packets.tcp(client, 61000, endpoint, 80, .syn), at: 4000 * millisecond)
        write(Packets.tcp(client, 61001, endpoint, 80, .syn), at: 86_400_000 * millisecond)
        try writer.close()

        let output = folder.file("out")
        let (report, _) = try Replay(topology: Self.topology, options: Replay.Options(input: input, output: output)).run()
        #expect(report.drops.isEmpty, "\(report.drops)")
        #expect(report.forwarded.packets == report.input.packets)
        #expect((report.sessions["evicted"] ?? 0) > 140_000, "\(report.sessions)")
        // Every data segment of the established connections reached the target with its port.
        let toTarget = try Self.read(output + "/web-a.pcap")
        let data = toTarget.filter { $0.count == 50 }
        #expect(data.count == 600)
        let toClient = try Self.read(output + "/client-a.pcap")
        #expect(toClient.filter { $0[33] == 0x10 }.count == 600, "every ACK back to the client")
        // The two late SYNs are the last packets the target saw.
        #expect(toTarget.suffix(2).allSatisfy { $0[33] == 0x02 })
    }
}

extension ReplayTests {
    /// A capture taken on a TUN device with offloads holds TCP and UDP checksums left partial (the
    /// pseudo-header sum only) for the device to finish. Replay finishes them, so the translated
    /// packets leave with valid checksums, as they do live; a checksum that is merely wrong stays
    /// wrong.
    @Test func partialChecksumsAreCompleted() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let client = Self.interface(host: "client-a").ipv4!, endpoint = Self.endpointENI(zone: "us-east-1a").ipv4!
        func partial(_ packet: [UInt8]) -> [UInt8] {
            var bytes = packet
            bytes.withUnsafeMutableBytes { buffer in
                let ip = try! IPv4Packet(buffer)
                let folded = InternetChecksum.fold(ip.pseudoHeaderSum)
                buffer[ip.headerLength + 16] = UInt8(folded >> 8)
                buffer[ip.headerLength + 17] = UInt8(folded & 0xFF)
            }
            return bytes
        }
        var wrong = Packets.tcp(client, 40001, endpoint, 80, .syn, seq: 9)
        wrong[37] ^= 0x5A
        let input = folder.file("in.pcap")
        try Self.writeCapture([partial(Packets.tcp(client, 40000, endpoint, 80, .syn, seq: 7, payload: 100)), wrong], to: input)
        let output = folder.file("out")
        let (report, _) = try Replay(topology: Self.topology, options: Replay.Options(input: input, output: output)).run()
        #expect(report.partialChecksumsCompleted == 1)
        let sent = try Self.read(output + "/web-a.pcap")
        try #require(sent.count == 2)
        func valid(_ bytes: [UInt8]) -> Bool {
            var copy = bytes
            return copy.withUnsafeMutableBytes { buffer in
                let ip = try! IPv4Packet(buffer)
                return try! TCPSegment(ip.payload).checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            }
        }
        #expect(valid(sent[0]), "finished, then translated")
        #expect(!valid(sent[1]), "a wrong checksum is not the fabric's to mend")
    }
}

extension ReplayTests {
    /// A query to a VPC's resolver in a capture is answered as live mode answers it, from that
    /// VPC's split-horizon view, into the querying host's capture at the query's time: the
    /// service's private DNS name gives the endpoint's ENIs inside the consumer VPC, the public
    /// answer in the partner's.
    @Test func theResolverAnswersInReplay() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let view = DNSView(Self.topology)
        var packets: [[UInt8]] = []
        var expected: [(host: String, addresses: [IPv4Address])] = []
        for (host, id) in [("client-a", UInt16(7)), ("partner-client", 8)] {
            let eni = Self.interface(host: host)
            let vpc = Self.topology.vpcs.firstIndex { $0.id == Self.topology[Self.topology[eni.subnet].vpc].id }!
            let resolver = Self.topology.vpcs[vpc].resolver
            packets.append(PacketBuilder.ipv4Packet(IPv4Fields(source: eni.ipv4!, destination: resolver),
                                                    .udp(UDPFields(sourcePort: 33000, destinationPort: 53)),
                                                    payload: DNSMessage.query(id: id, name: "api.privet.example", type: DNSRecordCode.a)))
            guard case .ipv4(let addresses) = view.resolve("api.privet.example", type: .a, from: vpc) else {
                Issue.record("no A records for api.privet.example in \(host)'s VPC")
                return
            }
            expected.append((host, addresses))
        }
        #expect(expected[0].addresses != expected[1].addresses, "split horizon: two views")
        let input = folder.file("in.pcap")
        try Self.writeCapture(packets, to: input)
        let output = folder.file("out")
        let (report, _) = try Replay(topology: Self.topology, options: Replay.Options(input: input, output: output)).run()
        #expect(report.resolver.answered == 2)
        for (host, addresses) in expected {
            let replies = try Self.read(output + "/\(host).pcap")
            try #require(replies.count == 1, "\(host)")
            var reply = replies[0]
            let message = reply.withUnsafeMutableBytes { buffer in
                Array((try! UDPDatagram(try! IPv4Packet(buffer).payload)).payload)
            }
            let answer = try #require(DNSMessage.addresses(inResponse: message))
            #expect(answer.code == 0 && answer.addresses.sorted { $0.value < $1.value } == addresses.sorted { $0.value < $1.value }, "\(host)")
        }
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: output)).contains { $0.hasPrefix("resolver") })
    }
}

extension ReplayTests {
    /// Proxy Protocol v2 in replay: the target's capture holds the header where the handshake's
    /// last ACK was, byte for byte the hand-made vector, then the data moved up by it.
    @Test func proxyProtocolHeaderInTheTargetsCapture() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let yaml = Topology.defaultYAML.replacingOccurrences(of: "    targets: [{host: web-a}, {host: web-b}]\n",
                                                             with: "    targets: [{host: web-a}, {host: web-b}]\n    proxyProtocolV2: true\n")
        let topology = try #require(Topology.load(yaml: yaml).topology)
        let client = Self.interface(host: "client-a").ipv4!, web = Self.interface(host: "web-a").ipv4!
        let endpoint = Self.endpointENI(zone: "us-east-1a").ipv4!, node = Self.node(zone: "us-east-1a").ipv4!
        let input = folder.file("in.pcap")
        try Self.writeCapture([
            Packets.tcp(client, 40000, endpoint, 80, .syn, seq: 1000),
            Packets.tcp(web, 80, node, 10000, [.syn, .ack], seq: 5000, ack: 1001),
            Packets.tcp(client, 40000, endpoint, 80, .ack, seq: 1001, ack: 5001),
            Packets.tcp(web, 80, node, 10000, .ack, seq: 5001, ack: 1055),
            Packets.tcp(client, 40000, endpoint, 80, [.psh, .ack], seq: 1001, ack: 5001, payload: 5),
        ], to: input)
        let output = folder.file("out")
        let (report, _) = try Replay(topology: topology, options: Replay.Options(input: input, output: output)).run()
        #expect(report.forwarded.packets == 5)
        let toTarget = try Self.read(output + "/web-a.pcap")
        try #require(toTarget.count == 3)
        #expect(Array(toTarget[1].dropFirst(40)) == proxyProtocolGolden)
        #expect(Array(toTarget[2][24..<28]) == [0, 0, 0x04, 0x1F], "the data at 1055: after the header")
        let toClient = try Self.read(output + "/client-a.pcap")
        #expect(Array(toClient[1][28..<32]) == [0, 0, 0x03, 0xE9], "the header acknowledged: 1001 to the client")
    }
}

extension ReplayTests {
    /// A refusal is a REJECT record on the ENI whose rules refused it, as the verdict names it:
    /// a target whose security group shuts out the NLB refuses at the target's ENI, not at the
    /// endpoint's where the packet was addressed.
    @Test func aRejectIsLoggedAtTheENIThatRefused() throws {
        let yaml = Topology.defaultYAML.replacingOccurrences(of: "{protocol: tcp, ports: 80, cidr: 10.10.0.0/16}",
                                                             with: "{protocol: tcp, ports: 80, cidr: 10.99.0.0/16}")
        let load = Topology.load(yaml: yaml)
        let topology = try #require(load.topology, "\(load.errors)")
        func eni(_ host: String) -> NetworkInterface {
            guard case .vpc(let eni) = topology.hosts.first(where: { $0.name == host })!.placement else { fatalError() }
            return topology[eni]
        }
        let endpoint = topology.endpoints[0].interfaces.map { topology[$0] }.first { topology[topology[$0.subnet].zone].name == "us-east-1a" }!
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let input = folder.file("in.pcap")
        try Self.writeCapture([Packets.tcp(eni("client-a").ipv4!, 40000, endpoint.ipv4!, 80, .syn)], to: input)
        let output = folder.file("out")
        let (report, _) = try Replay(topology: topology, options: Replay.Options(input: input, output: output)).run()
        #expect(report.drops == ["security-group-ingress": 1])
        let log = try String(contentsOfFile: output + "/flow-log.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        let rejects = log.filter { $0.hasSuffix(" REJECT OK") }
        #expect(rejects.count == 1)
        #expect(rejects.first?.contains(" \(eni("web-a").id) ") == true, "\(rejects)")
        #expect(rejects.first?.contains(" \(endpoint.id) ") == false)
    }
}
