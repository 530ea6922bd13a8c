import Foundation
import Testing
import Dataplane
import DataplaneFixtures
import Forwarder
import PacketIO
import PacketWire
import TestSupport
import Topology

@Suite("Flow-log formats")
struct FlowLogFormatTests {
    @Test func aCustomFormatIsReadAsAWSWritesIt() throws {
        let format = try FlowLogFormat("${version}  ${interface-id} ${pkt-srcaddr}\t${tcp-flags} ${az-id}")
        #expect(format.fields == [.version, .interfaceID, .packetSourceAddress, .tcpFlags, .zoneID])
        #expect(format.version == 4, "the highest version among the fields")
        #expect(format.description == "${version} ${interface-id} ${pkt-srcaddr} ${tcp-flags} ${az-id}")
        #expect(FlowLogFormat.default.version == 2)
        #expect(FlowLogFormat.default.fields.count == 14)
        #expect(try FlowLogFormat("${traffic-path}").version == 5)
    }

    @Test func aFormatThatIsNotAWSsSaysWhy() {
        func refusal(_ text: String) -> String {
            do {
                _ = try FlowLogFormat(text)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(refusal("${version} ${colour}").contains("unknown field ${colour}; the fields are version account-id"))
        #expect(refusal("version srcaddr") == "flow-log format: 'version' is not a field; write each as ${field}, separated by spaces")
        #expect(refusal("${ecs-task-id}").contains("${ecs-task-id} is not written: there are no ECS tasks"))
        #expect(refusal("  ") == "flow-log format: no fields")
    }

    /// A replay of the default topology in a format of every field: NAT through the endpoint
    /// at each ENI, the GWLB endpoint's ENI as a hop whose own address is `dstaddr` while
    /// `pkt-dstaddr` keeps the packet's, the S3 gateway endpoint's path and service, the
    /// internet gateway's path, OR-ed TCP flags per direction, and a REJECT's direction.
    @Test func aReplayWritesEveryField() throws {
        let topology = ReplayTests.topology
        let client = ReplayTests.interface(host: "client-a"), web = ReplayTests.interface(host: "web-a")
        let endpoint = ReplayTests.endpointENI(zone: "us-east-1a"), node = ReplayTests.node(zone: "us-east-1a")
        let partner = ReplayTests.interface(host: "partner-client")
        let partnerEndpoint = topology[topology.endpoints[1].interfaces[0]]
        let gatewayEndpoint = topology[topology.endpoints.first { $0.name == "inspection-endpoint" }!.interfaces[0]]
        let internet = IPv4Address(198, 51, 100, 10), s3 = IPv4Address(52, 216, 10, 10)
        var internetV6 = TCPFields(sourcePort: 40003, destinationPort: 80, flags: .syn)
        internetV6.sequenceNumber = 1
        let capture = [
            Packets.tcp(client.ipv4!, 40000, endpoint.ipv4!, 80, .syn, seq: 100),
            Packets.tcp(web.ipv4!, 80, node.ipv4!, 10000, [.syn, .ack], seq: 500, ack: 101),
            Packets.tcp(client.ipv4!, 40000, endpoint.ipv4!, 80, [.ack, .psh], seq: 101, ack: 501, payload: 32),
            Packets.tcp(client.ipv4!, 40000, endpoint.ipv4!, 80, [.fin, .ack], seq: 133, ack: 501),
            Packets.tcp(client.ipv4!, 40001, internet, 80, .syn, seq: 1),
            Packets.tcp(client.ipv4!, 40002, s3, 80, .syn, seq: 1),
            PacketBuilder.ipv6Packet(IPv6Fields(source: client.ipv6!, destination: IPv6Address("2001:db8::10")!), .tcp(internetV6)),
            Packets.tcp(partner.ipv4!, 40004, partnerEndpoint.ipv4!, 80, .syn),
        ]
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let input = folder.file("in.pcap")
        try ReplayTests.writeCapture(capture, to: input)
        let fields = "version interface-id account-id vpc-id subnet-id instance-id az-id region type srcaddr dstaddr pkt-srcaddr pkt-dstaddr "
            + "srcport dstport protocol packets bytes tcp-flags flow-direction traffic-path pkt-src-aws-service "
            + "pkt-dst-aws-service action log-status sublocation-type sublocation-id start end"
        var options = Replay.Options(input: input, output: folder.file("out"))
        options.flowLogFormat = try FlowLogFormat(fields.split(separator: " ").map { "${\($0)}" }.joined(separator: " "))
        let (report, _) = try Replay(topology: topology, options: options).run()
        let lines = try String(contentsOfFile: folder.file("out") + "/flow-log.txt", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(lines[0] == fields, "the header names the fields")
        #expect(report.flowRecords == UInt64(lines.count - 1))
        let records = lines.dropFirst().map { line in
            Dictionary(uniqueKeysWithValues: zip(fields.split(separator: " ").map(String.init), line.split(separator: " ").map(String.init)))
        }
        #expect(records.allSatisfy { $0.count == 29 && $0["version"] == "5" && $0["region"] == "us-east-1" && $0["log-status"] == "OK" })
        #expect(records.allSatisfy { $0["sublocation-type"] == "-" && $0["sublocation-id"] == "-" && $0["protocol"] == "6" })
        func record(_ eni: NetworkInterface, _ direction: String, sourcePort: String) -> [String: String]? {
            records.first { $0["interface-id"] == eni.id && $0["flow-direction"] == direction
                && ($0["srcport"] == sourcePort || $0["dstport"] == sourcePort) }
        }

        // Through the endpoint: the client's SYN, data and FIN (flags 2|1), the target's SYN-ACK (18).
        let sent = try #require(record(client, "egress", sourcePort: "40000"), "\(lines)")
        #expect(sent["account-id"] == "222222222222" && sent["vpc-id"] == topology.vpcs.first { $0.name == "consumer" }!.id)
        #expect(sent["instance-id"] == topology.hosts.first { $0.name == "client-a" }!.instanceID)
        #expect(atEndpointInstance(records, endpoint) == "-", "an endpoint's ENI belongs to no instance")
        #expect(sent["subnet-id"] == topology[client.subnet].id && sent["az-id"] == "use1-az1" && sent["type"] == "IPv4")
        #expect(sent["srcaddr"] == "\(client.ipv4!)" && sent["pkt-dstaddr"] == "\(endpoint.ipv4!)")
        #expect(sent["tcp-flags"] == "3" && sent["packets"] == "3" && sent["traffic-path"] == "1")
        #expect(sent["start"] == "1000" && sent["end"] == "1000" && sent["action"] == "ACCEPT")
        let atEndpoint = try #require(record(endpoint, "ingress", sourcePort: "40000"))
        #expect(atEndpoint["dstaddr"] == "\(endpoint.ipv4!)" && atEndpoint["traffic-path"] == "-")
        let answered = try #require(record(endpoint, "egress", sourcePort: "40000"))
        #expect(answered["srcaddr"] == "\(endpoint.ipv4!)" && answered["dstaddr"] == "\(client.ipv4!)" && answered["tcp-flags"] == "18")
        // The provider's side: the node's address towards the target, NAT visible.
        let translated = try #require(record(node, "egress", sourcePort: "80"))
        #expect(translated["srcaddr"] == "\(node.ipv4!)" && translated["pkt-dstaddr"] == "\(web.ipv4!)")
        #expect(translated["account-id"] == "111111111111" && translated["srcport"] == "10000" && translated["tcp-flags"] == "3")
        #expect(record(web, "ingress", sourcePort: "80")?["pkt-srcaddr"] == "\(node.ipv4!)")
        #expect(record(web, "egress", sourcePort: "80")?["tcp-flags"] == "18")

        // Through the GWLB endpoint: the hop's own address as dstaddr, the packet's kept.
        let inspected = try #require(record(gatewayEndpoint, "ingress", sourcePort: "40001"), "\(lines)")
        #expect(inspected["dstaddr"] == "\(gatewayEndpoint.ipv4!)" && inspected["pkt-dstaddr"] == "\(internet)")
        #expect(inspected["srcaddr"] == "\(client.ipv4!)" && inspected["tcp-flags"] == "2")
        #expect(record(client, "egress", sourcePort: "40001")?["traffic-path"] == "1", "to the endpoint, in the VPC")

        // Through the S3 gateway endpoint, and IPv6 through the internet gateway.
        let toS3 = try #require(record(client, "egress", sourcePort: "40002"))
        #expect(toS3["traffic-path"] == "7" && toS3["pkt-dst-aws-service"] == "S3" && toS3["pkt-src-aws-service"] == "-")
        let toInternet = try #require(record(client, "egress", sourcePort: "40003"))
        #expect(toInternet["traffic-path"] == "8" && toInternet["type"] == "IPv6" && toInternet["dstaddr"] == "2001:db8::10")

        // The rejected endpoint refuses the partner's SYN as it comes in.
        let refused = try #require(records.first { $0["action"] == "REJECT" })
        #expect(refused["interface-id"] == partnerEndpoint.id && refused["flow-direction"] == "ingress")
        #expect(refused["tcp-flags"] == "2" && refused["traffic-path"] == "-" && refused["srcaddr"] == "\(partner.ipv4!)")
    }

    /// A flow longer than the aggregation interval gets a record per interval, with the flags of
    /// each: 60 s, as `--max-aggregation-interval 60` sets it.
    @Test func aLongFlowHasARecordPerInterval() throws {
        let topology = ReplayTests.topology
        let client = ReplayTests.interface(host: "client-a"), endpoint = ReplayTests.endpointENI(zone: "us-east-1a")
        let web = ReplayTests.interface(host: "web-a"), node = ReplayTests.node(zone: "us-east-1a")
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let input = folder.file("in.pcap")
        let writer = try CaptureWriter(path: input, linkType: .rawIP)
        let packets = [
            (0, Packets.tcp(client.ipv4!, 40000, endpoint.ipv4!, 80, .syn, seq: 100)),
            (0, Packets.tcp(web.ipv4!, 80, node.ipv4!, 10000, [.syn, .ack], seq: 500, ack: 101)),
            (30, Packets.tcp(client.ipv4!, 40000, endpoint.ipv4!, 80, .ack, seq: 101)),
            (90, Packets.tcp(client.ipv4!, 40000, endpoint.ipv4!, 80, [.fin, .ack], seq: 101)),
        ]
        for (second, packet) in packets {
            packet.withUnsafeBytes { writer.write($0, timestampNanoseconds: Int64(1_000 + second) * 1_000_000_000) }
        }
        try writer.close()
        var options = Replay.Options(input: input, output: folder.file("out"))
        options.configuration.flowLogInterval = 60_000_000_000
        options.flowLogFormat = try FlowLogFormat("${interface-id} ${packets} ${tcp-flags} ${start} ${end}")
        _ = try Replay(topology: topology, options: options).run()
        let lines = try String(contentsOfFile: folder.file("out") + "/flow-log.txt", encoding: .utf8).split(separator: "\n")
        // The client's records: what it sent and received in the first interval (ending at the
        // flow's last packet in it, as AWS's `end`; either direction's, see the README), then
        // what it sent in the second.
        #expect(lines.filter { $0.hasPrefix(client.id + " ") }
                == ["\(client.id) 2 2 1000 1030", "\(client.id) 1 18 1000 1030", "\(client.id) 1 1 1090 1090"])
    }

    private func atEndpointInstance(_ records: [[String: String]], _ endpoint: NetworkInterface) -> String? {
        records.first { $0["interface-id"] == endpoint.id }?["instance-id"]
    }
}
