import Foundation
import Testing
import PacketIO
import TestSupport

/// `privet inspect` and `privet demo` as a user runs them: the built executable, its output and
/// its exit status.
@Suite("privet inspect and demo")
struct InspectCommandTests {
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func inspectPrintsLinesAndSummary() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("sample.pcap")
        try SampleCapture.write(path: path)
        let result = try runProgram(privetExecutable()!, ["inspect", path])
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let count = SampleCapture.frames().count
        #expect(lines[0] == "1 1700000000.000000000 IP 10.0.1.10.40000 > 10.0.2.20.80: Flags [S], seq 1000, win 65535, "
                + "options [mss 1460,sackOK,TS val 1000 ecr 0,nop,wscale 7], length 0")
        #expect(lines[2].contains("vlan 100, IP 10.0.1.10.40000 > 10.0.2.20.80: Flags [P.], seq 1001, ack 5001"))
        #expect(lines[count - 1].hasSuffix("malformed IPv4: bad header length, length 54"))
        #expect(result.output.contains("\(count) packets, "))
        #expect(result.output.contains("  IPv4 TCP: 4\n"))
        #expect(result.output.contains("malformed: 1\n  IPv4: bad header length: 1"))

        let limited = try runProgram(privetExecutable()!, ["inspect", path, "--count", "3"])
        #expect(limited.status == 0)
        #expect(limited.output.hasPrefix("1 "))
        #expect(limited.output.contains("\n3 ") && !limited.output.contains("\n4 "))
        #expect(limited.output.contains("3 packets, "))
    }

    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func inspectFailsClearly() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let missing = folder.file("missing.pcap")
        let result = try runProgram(privetExecutable()!, ["inspect", missing])
        #expect(result.status == 1)
        #expect(result.error.contains("\(missing): cannot open capture: No such file or directory"))

        // A capture cut inside its last packet: the packets before it, the summary, then the error.
        let path = folder.file("cut.pcap")
        try SampleCapture.write(path: path)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data.removeLast(10)
        try data.write(to: URL(fileURLWithPath: path))
        let cut = try runProgram(privetExecutable()!, ["inspect", path])
        let count = SampleCapture.frames().count
        #expect(cut.status == 1)
        #expect(cut.output.contains("\n\(count - 1) "))
        #expect(cut.output.contains("\(count - 1) packets, "))
        #expect(cut.error.contains("\(path): packet \(count): truncated"))

        let usage = try runProgram(privetExecutable()!, ["inspect", path, "--count", "0"])
        #expect(usage.status == 2)
        #expect(usage.error.contains("--count must be at least 1"))
    }

    /// The demo as a user first meets it: connections through both zones, the refusals, the files.
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func demoRunsTheDefaultTopologyEndToEnd() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let result = try runProgram(privetExecutable()!, ["demo", "--output", folder.path])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("served by web-a in us-east-1a"))
        #expect(result.output.contains("served by web-b in us-east-1b"))
        for reason in ["endpoint-rejected", "provider-initiated", "deny-all-igw-traffic", "endpoint-oversize", "appliance-initiated"] {
            #expect(result.output.contains(reason), "\(reason)")
        }
        #expect(!result.output.contains("not refused!"))
        // The internet through the GWLB endpoint: every connection answered, inspected by the
        // appliance of the endpoint's zone.
        #expect(result.output.components(separatedBy: "-> 198.51.100.10 (internet)  served by internet-server in internet").count == 5,
                "\(result.output)")
        #expect(result.output.contains("inspected by appliance-a in us-east-1a (4 flows"))
        // S3 through the gateway endpoint.
        #expect(result.output.components(separatedBy: "-> 52.216.10.10 (com.amazonaws.us-east-1.s3)  served by s3").count == 3)
        for file in ["sent.pcap", "web-a.pcap", "web-b.pcap", "client-a.pcap", "appliance-a.pcap", "dropped.csv", "flow-log.txt",
                     "report.txt"] {
            #expect(FileManager.default.fileExists(atPath: folder.file(file)), "\(file)")
        }
        // What the demo wrote, privet inspect reads.
        let inspect = try runProgram(privetExecutable()!, ["inspect", folder.file("web-a.pcap"), "--count", "1"])
        #expect(inspect.status == 0 && inspect.output.contains("Flags [S]"))
    }
}
