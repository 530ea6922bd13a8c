import Foundation
import Testing
import PacketIO
import PacketWire
import TestSupport
import Topology

/// `privet replay` as a user runs it.
@Suite("privet replay")
struct ReplayCommandTests {
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func replayTheDefaultTopology() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let topologyPath = folder.file("topology.yaml")
        try Topology.defaultYAML.write(toFile: topologyPath, atomically: false, encoding: .utf8)
        let topology = Topology.load(yaml: Topology.defaultYAML).topology!
        guard case .vpc(let clientENI) = topology.hosts.first(where: { $0.name == "client-a" })!.placement else {
            Issue.record("client-a is not a VPC host")
            return
        }
        let client = topology[clientENI].ipv4!
        let endpoint = topology[topology.endpoints[0].interfaces[0]].ipv4!
        let capture = folder.file("in.pcap")
        let writer = try CaptureWriter(path: capture, linkType: .rawIP)
        for port in 0..<10 {
            let syn = PacketBuilder.ipv4Packet(IPv4Fields(source: client, destination: endpoint),
                                               .tcp(TCPFields(sourcePort: UInt16(40000 + port), destinationPort: 80, flags: .syn)))
            syn.withUnsafeBytes { writer.write($0, timestampNanoseconds: 1_700_000_000_000_000_000 + Int64(port) * 1000) }
        }
        try writer.close()

        let output = folder.file("out")
        let result = try runProgram(privetExecutable()!, ["replay", topologyPath, "--input", capture, "--output", output, "--json"])
        #expect(result.status == 0, "\(result.error)")
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let report = object?["report"] as? [String: Any]
        #expect((report?["forwarded"] as? [String: Any])?["packets"] as? Int == 10)
        #expect((object?["timing"] as? [String: Any])?["packetsPerSecond"] != nil)
        for file in ["web-a.pcap", "dropped.pcap", "dropped.csv", "flow-log.txt", "report.txt", "report.json"] {
            #expect(FileManager.default.fileExists(atPath: output + "/" + file), "\(file)")
        }
        // The text report names the target and zone each connection reached.
        let text = try runProgram(privetExecutable()!, ["replay", topologyPath, "--input", capture, "--output", output])
        #expect(text.output.contains("web-targets/web-a:80 in us-east-1a: 10 flows"))

        let missing = try runProgram(privetExecutable()!, ["replay", topologyPath, "--input", folder.file("none.pcap"), "--output", output])
        #expect(missing.status == 1)
        #expect(missing.error.contains("none.pcap: cannot open capture"))

        let events = folder.file("events.txt")
        try "1 target-sick web-targets/web-a\n".write(toFile: events, atomically: false, encoding: .utf8)
        let badEvents = try runProgram(privetExecutable()!, ["replay", topologyPath, "--input", capture, "--output", output,
                                                             "--events", events])
        #expect(badEvents.status == 1)
        #expect(badEvents.error.contains("events.txt:1: error: unknown event 'target-sick'"))
    }

    /// A timestamp past the year 2262 does not fit replay's nanosecond clock: the packets before
    /// it are replayed, then `FILE: packet N: reason` and exit status 1; never a trap.
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func timestampPastTheClockIsRefused() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let topologyPath = folder.file("topology.yaml")
        try Topology.defaultYAML.write(toFile: topologyPath, atomically: false, encoding: .utf8)
        let packet = PacketBuilder.ipv4Packet(IPv4Fields(source: IPv4Address(10, 0, 1, 10), destination: IPv4Address(10, 0, 2, 20)),
                                              .udp(UDPFields(sourcePort: 1000, destinationPort: 2000)))
        var file = HandmadePcapng(linkType: 101)
        file.record(packet, timestampHigh: 0x0006_0000, low: 0)
        file.record(packet, timestampHigh: 0xFFFF_FFFF, low: 0xFFFF_FFFF)
        let capture = folder.file("future.pcapng")
        try file.write(to: capture)
        let result = try runProgram(privetExecutable()!, ["replay", topologyPath, "--input", capture, "--output", folder.file("out")])
        #expect(result.status == 1)
        #expect(result.error.contains("\(capture): packet 2: timestamp 18446744073709.551615000 is past 2262-04-11"), "\(result.error)")
        #expect(result.output.contains("input                  1 packets"), "\(result.output)")

        let inspect = try runProgram(privetExecutable()!, ["inspect", capture])
        #expect(inspect.status == 0, "\(inspect.error)")
        #expect(inspect.output.hasPrefix("1 1688849860.263936000 IP 10.0.1.10.1000 > 10.0.2.20.2000: UDP"), "\(inspect.output)")
        #expect(inspect.output.contains("\n2 18446744073709.551615000 IP 10.0.1.10.1000 > 10.0.2.20.2000: UDP"))
    }

    /// A capture of another topology: most of its packets belong to no ENI, gateway or
    /// service, and replay says so, naming a few, and fails.
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func aCaptureOfAnotherTopologyIsRefused() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let capture = folder.file("default.pcap")
        let privet = privetExecutable()!
        #expect(try runProgram(privet, ["gen", "default", "--output", capture, "--connections", "20"]).status == 0)
        let minimal = #filePath.components(separatedBy: "/Tests/")[0] + "/Examples/minimal-nlb-endpoint.yaml"
        let result = try runProgram(privet, ["replay", minimal, "--input", capture, "--output", folder.file("out")])
        #expect(result.status == 1)
        #expect(result.error.contains("packets have addresses no ENI, gateway or service of") && result.error.contains("10.20.1.4 → "),
                "\(result.error)")
    }

    /// An output capture that cannot be made is an error, not a port left out.
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func anOutputThatCannotBeWrittenIsAnError() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let privet = privetExecutable()!
        let capture = folder.file("in.pcap"), output = folder.file("out")
        #expect(try runProgram(privet, ["gen", "default", "--output", capture, "--connections", "5"]).status == 0)
        // A folder where client-a's capture would go.
        try FileManager.default.createDirectory(atPath: output + "/client-a.pcap", withIntermediateDirectories: true)
        let result = try runProgram(privet, ["replay", "default", "--input", capture, "--output", output])
        #expect(result.status == 1)
        #expect(result.error.contains("client-a.pcap") && result.error.contains("Is a directory"), "\(result.error)")
        #expect(FileManager.default.fileExists(atPath: output + "/flow-log.txt"), "the other outputs are written")
    }

    /// Every ENI a flow log names is one `describe` lists, so a record can be traced to what
    /// owns it.
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func everyENIOfTheFlowLogIsDescribed() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let privet = privetExecutable()!
        let capture = folder.file("in.pcap"), output = folder.file("out")
        #expect(try runProgram(privet, ["gen", "default", "--output", capture, "--connections", "200"]).status == 0)
        #expect(try runProgram(privet, ["replay", "default", "--input", capture, "--output", output]).status == 0)
        let log = try String(contentsOfFile: output + "/flow-log.txt", encoding: .utf8)
        let named = Set(log.split(separator: "\n").dropFirst().map { String($0.split(separator: " ")[2]) })
        #expect(named.count >= 5, "\(named)")
        let described = try runProgram(privet, ["describe", "default"]).output
        let listed = described.components(separatedBy: "Network interfaces")[1]
        for eni in named { #expect(listed.contains(eni), "\(eni) is in the flow log, not in describe's list") }
    }

    /// `--flow-log-format` on the command line: the fields chosen, the version they make, and a
    /// format AWS would not take refused before anything is read.
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func theFlowLogFormatIsChosenOnTheCommandLine() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let privet = privetExecutable()!
        let capture = folder.file("in.pcap"), output = folder.file("out")
        #expect(try runProgram(privet, ["gen", "default", "--output", capture, "--connections", "20"]).status == 0)
        let format = "${version} ${interface-id} ${flow-direction} ${tcp-flags} ${action}"
        let result = try runProgram(privet, ["replay", "default", "--input", capture, "--output", output, "--flow-log-format", format])
        #expect(result.status == 0, "\(result.error)")
        let lines = try String(contentsOfFile: output + "/flow-log.txt", encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "version interface-id flow-direction tcp-flags action")
        #expect(lines.count > 20 && lines.dropFirst().allSatisfy { $0.hasPrefix("5 eni-") && $0.split(separator: " ").count == 5 })
        #expect(lines.contains { $0.hasSuffix(" egress 3 ACCEPT") } || lines.contains { $0.hasSuffix(" egress 19 ACCEPT") },
                "a whole connection's SYN and FIN in one record")

        let refused = try runProgram(privet, ["replay", "default", "--input", capture, "--output", folder.file("other"),
                                              "--flow-log-format", "${version} ${vpc}"])
        #expect(refused.status != 0)
        #expect(refused.error.contains("unknown field ${vpc}"), "\(refused.error)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("other")), "nothing written")
        let interval = try runProgram(privet, ["replay", "default", "--input", capture, "--output", folder.file("other"),
                                               "--max-aggregation-interval", "30"])
        #expect(interval.status != 0 && interval.error.contains("60 or 600 seconds"), "\(interval.error)")
    }
}
