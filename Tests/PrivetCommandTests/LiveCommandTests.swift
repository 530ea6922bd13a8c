import Foundation
import Glibc
import Testing
import TestSupport
import Topology

/// `privet up` and `down` on real namespaces, with curl, dig and iperf3 on the other end. Root
/// only (CI is root); each test brings its own topology up under its own name and removes it.
@Suite("privet up (live, root)", .serialized, .enabled(if: liveUnavailable == nil, "\(liveUnavailable ?? "")"))
struct LiveCommandTests {
    let model = Topology.load(yaml: liveTopologyYAML()).topology!

    var endpoint: Endpoint { model.endpoints[0] }
    /// The endpoint's ENI addresses, zone a first.
    var endpointAddresses: [String] { endpoint.interfaces.map { model[$0].ipv4!.description } }
    var regionalName: String { endpoint.dnsNames.first { $0.zone == nil }!.name }
    func zonalName(_ zone: String) -> String {
        endpoint.dnsNames.first { $0.zone.map { model[$0].name } == zone }!.name
    }
    var nodeAddresses: [String] { model.loadBalancers[0].nodes.map { model[$0.interface].ipv4!.description } }

    func dig(_ run: LiveRun, from host: String, _ name: String, _ type: String = "A") throws -> (status: String, answers: [String]) {
        let result = try run.run(host, "dig", ["+time=2", "+tries=1", name, type])
        let status = result.output.split(separator: "\n").first { $0.contains("status:") }
            .flatMap { $0.components(separatedBy: "status: ").last?.split(separator: ",").first }.map(String.init) ?? "no answer"
        let short = try run.run(host, "dig", ["+short", "+time=2", "+tries=1", name, type])
        return (status, short.output.split(separator: "\n").map(String.init).sorted())
    }

    @Test func resolverAnswersEveryNameKindWithSplitHorizon() throws {
        let run = try LiveRun(name: "live-dns", yaml: liveTopologyYAML())
        // Inside the consumer VPC: the private DNS name and the regional name give both ENIs,
        // a zonal name its zone's ENI, IPv6 only where the ENI has it.
        #expect(try dig(run, from: "client-a", "api.live.example").answers == endpointAddresses.sorted())
        #expect(try dig(run, from: "client-b", regionalName).answers == endpointAddresses.sorted())
        #expect(try dig(run, from: "client-a", zonalName("us-east-1b")).answers == [endpointAddresses[1]])
        let aaaa = try dig(run, from: "client-a", regionalName, "AAAA")
        #expect(aaaa.status == "NOERROR" && aaaa.answers.isEmpty, "an answer with no AAAA record, not a timeout: \(aaaa)")
        // The private hosted zone: a record, an alias, and a missing name that is NXDOMAIN with
        // no fall back to public DNS (docs/aws-behaviour.md §8).
        #expect(try dig(run, from: "client-a", "db.corp.internal").answers == ["10.2.1.50"])
        #expect(try dig(run, from: "client-a", "www.corp.internal").answers.contains("db.corp.internal."))
        #expect(try dig(run, from: "client-a", "missing.corp.internal").status == "NXDOMAIN")
        // Outside the VPC: the public answer for the same name; the endpoint's own names still
        // resolve (they are public); the private zone does not exist.
        #expect(try dig(run, from: "stranger", "api.live.example").answers == ["203.0.113.10"])
        #expect(try dig(run, from: "stranger", regionalName).answers == endpointAddresses.sorted())
        #expect(try dig(run, from: "stranger", "db.corp.internal").status == "NXDOMAIN")
        // A malformed query (a header announcing a question that is not there) gets FORMERR.
        let script = """
            import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
            s.sendto(bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7]) + b'ab', ('10.2.0.2', 53))
            r = s.recv(512); print(r[0] * 256 + r[1], r[3] & 15)
            """
        let formerr = try run.run("client-a", "python3", ["-c", script])
        #expect(formerr.output.trimmingCharacters(in: .whitespacesAndNewlines) == "4660 1", "\(formerr.error)")
        let log = run.stop()
        #expect(log.contains("malformed"))
    }

    @Test func curlReachesTheServiceAsCrossZoneSays() throws {
        let run = try LiveRun(name: "live-curl", yaml: liveTopologyYAML())
        // By private DNS name, from inside the VPC.
        let byName = try run.get("client-a", "http://api.live.example/")
        #expect(byName?.hasPrefix("served by web-") == true, "\(run.log)")
        // Cross-zone off: the zone-a ENI's node sends only to zone a's target.
        var zonal: Set<String> = []
        for _ in 0..<8 { zonal.insert(try run.get("client-a", "http://\(zonalName("us-east-1a"))/") ?? "failed") }
        #expect(zonal == ["served by web-a in us-east-1a"])
        var zonalB: Set<String> = []
        for _ in 0..<8 { zonalB.insert(try run.get("client-b", "http://\(zonalName("us-east-1b"))/") ?? "failed") }
        #expect(zonalB == ["served by web-b in us-east-1b"])
        // Cross-zone on: both targets, from one zone's ENI.
        var spread: Set<String> = []
        for _ in 0..<24 { spread.insert(try run.get("client-a", "http://\(zonalName("us-east-1a")):8080/") ?? "failed") }
        #expect(spread == ["served by web-a in us-east-1a", "served by web-b in us-east-1b"])
        // A second `up` of the same topology refuses, and leaves the running one alone.
        let second = try runProgram(privetExecutable()!, ["up", run.path])
        #expect(second.status != 0)
        #expect(second.error.contains("already up"))
        #expect(try run.get("client-a", "http://api.live.example/") != nil)
        run.stop()
        #expect(namespaces(startingWith: "privet-live-curl-").isEmpty)
    }

    @Test func providerCannotInitiateThroughTheLoadBalancer() throws {
        let run = try LiveRun(name: "live-provider", yaml: liveTopologyYAML())
        // A target tries to open a connection to the NLB's address on a port that is no
        // listener's (the way back to consumers): PrivateLink carries connections the consumer
        // starts, only (docs/aws-behaviour.md §4).
        let attempt = try run.run("web-a", "curl", ["-s", "-m", "2", "http://\(nodeAddresses[0]):10000/"])
        #expect(attempt.status != 0)
        let log = run.stop()
        #expect(log.contains("dropped provider-initiated"), "\(log)")
    }

    /// The NLB is an internal NLB of its own VPC too: web-c, registered nowhere, connects to the
    /// zone-a node's address on the listener and is served by web-a (cross-zone off), which sees
    /// web-c's own address (instance targets preserve it) and answers through the node; web-a
    /// reaching itself that way fails (AWS's hairpin limit), counted.
    @Test func aHostOfTheProviderVPCIsAClientOfTheNLB() throws {
        let run = try LiveRun(name: "live-internal", yaml: liveTopologyYAML())
        for _ in 0..<3 { #expect(try run.get("web-c", "http://\(nodeAddresses[0])/") == "served by web-a in us-east-1a", "\(run.log)") }
        #expect(try run.get("web-c", "http://\(nodeAddresses[1])/") == "served by web-b in us-east-1b")
        #expect(try run.run("web-a", "curl", ["-s", "-m", "2", "http://\(nodeAddresses[0])/"]).status != 0)
        let log = run.stop()
        #expect(log.contains("dropped load-balancer-hairpin"), "\(log)")
    }

    @Test func newConnectionsAvoidAKilledTarget() throws {
        let run = try LiveRun(name: "live-health", yaml: liveTopologyYAML())
        // Stop web-b's server (the only process in its namespace).
        let pids = try runProgram("ip", ["netns", "pids", run.namespace("web-b")]).output
        for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        // Interval 5 s × threshold 2, and a probe in flight.
        try run.waitForLog("target web-b:80 in spread is unhealthy", seconds: 20)
        var spread: Set<String> = []
        for _ in 0..<12 { spread.insert(try run.get("client-a", "http://\(zonalName("us-east-1a")):8080/") ?? "failed") }
        #expect(spread == ["served by web-a in us-east-1a"])
        let log = run.stop()
        #expect(log.contains("connection refused"))
    }

    /// A target whose security groups refuse the NLB's probes (web-b left in its VPC's default
    /// group) turns unhealthy saying who refused them, within interval × threshold, without
    /// waiting for probes to time out.
    @Test func aProbeRefusedByASecurityGroupSaysSo() throws {
        let yaml = liveTopologyYAML().replacingOccurrences(of: "{name: web-b, subnet: provider-b, securityGroups: [web], server:",
                                                           with: "{name: web-b, subnet: provider-b, server:")
        let run = try LiveRun(name: "live-refused", yaml: yaml)
        try run.waitForLog("target web-b:80 in spread is unhealthy: 2 checks in a row: probe from 10.1.", seconds: 20)
        let log = run.stop()
        #expect(log.contains("refused by security group sg-") && log.contains(" (default) of host 'web-b' (security-group-ingress)"),
                "\(log)")
        #expect(!log.contains("target web-a:80 in spread is unhealthy"), "web-a admits the nodes")
    }

    @Test func reloadAddsATargetWhileAStreamRuns() throws {
        let run = try LiveRun(name: "live-reload", yaml: liveTopologyYAML())
        let server = try run.start("web-a", "iperf3", ["-s", "-1", "-p", "5201"])
        // SIGKILL: a child may inherit a signal mask that holds SIGTERM back.
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        usleep(500_000)
        let client = try run.start("client-a", "iperf3", ["-c", endpointAddresses[0], "-p", "5201", "-t", "6", "-J"])
        sleep(2)
        // Register web-c in the zonal group (and the iperf group), and reload.
        try liveTopologyYAML(iperfTargets: "[{host: web-a}, {host: web-c}]",
                             zonalTargets: "[{host: web-a}, {host: web-b}, {host: web-c}]")
            .write(toFile: run.path, atomically: false, encoding: .utf8)
        kill(run.process.processIdentifier, SIGHUP)
        try run.waitForLog("reloaded", seconds: 10)
        let output = (client.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        client.waitUntilExit()
        #expect(client.terminationStatus == 0)
        let report = try JSONSerialization.jsonObject(with: output) as? [String: Any]
        #expect(report?["error"] == nil)
        // Data moved in every second of the stream, those after the reload (at 2 s) included.
        let intervals = (report?["intervals"] as? [[String: Any]] ?? []).map { (($0["sum"] as? [String: Any])?["bytes"] as? Int) ?? 0 }
        #expect(intervals.count >= 6 && intervals.allSatisfy { $0 > 100_000 }, "iperf3 bytes per second: \(intervals)")
        // New connections now reach web-c too (zone a, cross-zone off).
        var zonal: Set<String> = []
        for _ in 0..<24 { zonal.insert(try run.get("client-a", "http://\(zonalName("us-east-1a"))/") ?? "failed") }
        #expect(zonal == ["served by web-a in us-east-1a", "served by web-c in us-east-1a"])
        run.stop()
    }

    @Test func downRemovesWhatAKilledUpLeft() throws {
        let run = try LiveRun(name: "live-down", yaml: liveTopologyYAML())
        #expect(namespaces(startingWith: "privet-live-down-").count == model.hosts.count)
        kill(run.process.processIdentifier, SIGKILL)
        run.process.waitUntilExit()
        #expect(namespaces(startingWith: "privet-live-down-").count == model.hosts.count)
        let down = try runProgram(privetExecutable()!, ["down", run.path])
        #expect(down.status == 0, "\(down.error)")
        #expect(namespaces(startingWith: "privet-live-down-").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/run/privet/live-down.sock"), "the killed up's control socket goes too")
        let links = try runProgram("ip", ["-o", "link"]).output
        #expect(links.range(of: " pv[0-9a-f]{6}-[0-9]+", options: .regularExpression) == nil, "\(links)")
        #expect(try runProgram("pgrep", ["-f", "privet serve http --port 80 --identity web-a"]).status != 0)
        // Nothing left: a second down says so.
        #expect(try runProgram(privetExecutable()!, ["down", run.path]).output.contains("nothing to remove"))
    }

    /// The default topology's S3 path: the app subnets' route table is associated with the
    /// gateway endpoint, the partner's is not (docs/aws-behaviour.md §7).
    @Test func gatewayEndpointReachesTheServiceNetwork() throws {
        let run = try LiveRun(name: "live-s3", yaml: Topology.defaultYAML)
        #expect(try run.get("client-a", "http://52.216.10.10/") == "served by s3 in com.amazonaws.us-east-1.s3", "\(run.log)")
        #expect(try run.run("partner-client", "curl", ["-s", "-m", "2", "http://52.216.10.10/"]).status != 0)
        let log = run.stop()
        #expect(log.contains("dropped no-route"), "\(log)")
    }

    @Test func liveDemoMakesItsOwnRequestsAndCleansUp() throws {
        let demo = try runProgram(privetExecutable()!, ["demo", "--live"])
        #expect(demo.status == 0, "\(demo.error)")
        // Each client resolves the private DNS name and reaches its own zone's target.
        #expect(demo.output.contains("client-a: api.privet.example → 10.20.1.5, 10.20.2.5"))
        #expect(demo.output.contains("GET http://api.privet.example/ → served by web-a in us-east-1a"))
        #expect(demo.output.contains("GET http://api.privet.example/ → served by web-b in us-east-1b"))
        #expect(demo.output.contains("client-a → the internet, inspected by the GWLB's appliance: GET http://198.51.100.10/ → served by internet-server in internet"), "\(demo.output)")
        #expect(demo.output.contains("GET http://52.216.10.10/ → served by s3 in com.amazonaws.us-east-1.s3"))
        #expect(demo.output.contains("dropped endpoint-rejected"))
        #expect(demo.output.contains("dropped provider-initiated"))
        #expect(demo.output.contains("web-b → its NLB's address 10.10.1.5:80, a client of the internal NLB: served by web-a in us-east-1a"),
                "\(demo.output)")
        #expect(demo.output.contains("dropped load-balancer-hairpin"))
        #expect(namespaces(startingWith: "privet-demo-").isEmpty)
    }
}
