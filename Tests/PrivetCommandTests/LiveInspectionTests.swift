import Foundation
import Glibc
import Testing
import TestSupport
import Topology

/// An app VPC whose internet traffic two reference appliances in one zone inspect, behind a
/// GWLB with fast HTTP health checks (every 5 s, unhealthy after 2 failures); `website` serves HTTP
/// and `echo` UDP echo on the internet.
func liveInspectionYAML(failover: String = "rebalance", drop: String = "[]") -> String {
    """
    region: eu-west-1
    zones:
      - {name: eu-west-1a, id: euw1-az1}
    accounts:
      - {name: app, id: "210987654321"}
      - {name: security, id: "109876543210"}
    vpcs:
      - {name: app, account: app, cidr: 10.0.0.0/16, internetGateway: {edgeRouteTable: edge}}
      - {name: security, account: security, cidr: 10.100.0.0/16}
    subnets:
      - {name: app-a, vpc: app, zone: eu-west-1a, cidr: 10.0.1.0/24, routeTable: app}
      - {name: gwlbe-a, vpc: app, zone: eu-west-1a, cidr: 10.0.100.0/28, routeTable: gwlbe}
      - {name: appliances-a, vpc: security, zone: euw1-az1, cidr: 10.100.1.0/24}
    routeTables:
      - {name: app, vpc: app, routes: [{destination: 0.0.0.0/0, target: gwlbe}]}
      - {name: gwlbe, vpc: app, routes: [{destination: 0.0.0.0/0, target: internetGateway}]}
      - {name: edge, vpc: app, routes: [{destination: 10.0.1.0/24, target: gwlbe}]}
    securityGroups:
      - name: appliances
        vpc: security
        ingress:
          - {protocol: udp, ports: 6081, cidr: 10.100.0.0/16}
          - {protocol: tcp, ports: 80, cidr: 10.100.0.0/16}
    hosts:
      - {name: app, subnet: app-a}
      - {name: fw-1, subnet: appliances-a, securityGroups: [appliances], server: {protocol: appliance, port: 80, drop: \(drop)}}
      - {name: fw-2, subnet: appliances-a, securityGroups: [appliances], server: {protocol: appliance, port: 80, drop: \(drop)}}
      - {name: website, network: internet, addresses: [203.0.113.80], server: {protocol: http, port: 80}}
      - {name: echo, network: internet, addresses: [203.0.113.7], server: {protocol: udp-echo, port: 7}}
    loadBalancers:
      - {name: gwlb, type: gateway, subnets: [appliances-a], listeners: [{targetGroup: firewalls}]}
    targetGroups:
      - name: firewalls
        protocol: GENEVE
        targets: [{host: fw-1}, {host: fw-2}]
        targetFailover: \(failover)
        healthCheck: {protocol: HTTP, port: 80, path: /healthz, interval: 5, timeout: 2, healthyThreshold: 2, unhealthyThreshold: 2}
    endpointServices:
      - {name: inspection, account: security, loadBalancers: [gwlb], allowedPrincipals: [arn:aws:iam::210987654321:root]}
    endpoints:
      - {name: gwlbe, type: GatewayLoadBalancer, vpc: app, service: inspection, subnets: [gwlbe-a], decision: accepted}
    """
}

extension LiveCommandTests {
    /// The TUN device of `host` (the one link in its namespace that is not loopback).
    func device(_ run: LiveRun, _ host: String) throws -> String {
        let links = try run.run(host, "ip", ["-o", "link", "show"]).output
        return links.split(separator: "\n").compactMap { $0.split(separator: ":").dropFirst().first }
            .map { $0.trimmingCharacters(in: .whitespaces) }.first { $0 != "lo" } ?? ""
    }

    /// tshark on `host`'s device, capturing the GENEVE leg for `seconds`, printing the option
    /// classes and types and the inner TCP ports of each packet.
    func captureGENEVE(_ run: LiveRun, on host: String, seconds: Int) throws -> Process {
        try run.start(host, "tshark", ["-i", try device(run, host), "-a", "duration:\(seconds)", "-l", "-n", "-f", "udp port 6081",
                                       "-d", "udp.port==6081,geneve", "-T", "fields", "-E", "separator=;", "-e", "geneve.option.class", "-e", "geneve.option.type",
                                       "-e", "tcp.srcport", "-e", "tcp.dstport"])
    }

    func output(_ process: Process) -> String {
        process.waitUntilExit()
        let pipe = process.standardOutput as! Pipe
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// The default topology's inspection path: client-a's internet traffic goes through the
    /// GWLB endpoint to appliance-a (its zone's) over GENEVE, which tshark decodes, and on to
    /// the internet server; IPv6 goes straight to the internet gateway.
    @Test func defaultTopologyInspectsInternetTrafficOverGENEVE() throws {
        let run = try LiveRun(name: "live-gwlb", yaml: Topology.defaultYAML)
        let capture = try captureGENEVE(run, on: "appliance-a", seconds: 6)
        usleep(2_500_000)
        #expect(try run.get("client-a", "http://198.51.100.10/") == "served by internet-server in internet", "\(run.log)")
        #expect(try run.get("client-a", "http://[2001:db8::10]/") == "served by internet-server in internet")
        let lines = output(capture).split(separator: "\n").map(String.init)
        // Each GENEVE packet: AWS's class three times, types 1, 2, 3; inside, the HTTP flow.
        let decoded = lines.map { $0.split(separator: ";", omittingEmptySubsequences: false).map(String.init) }
        #expect(decoded.count >= 8, "both directions of the connection, each there and back: \(lines)")
        #expect(decoded.allSatisfy { $0.count == 4 && $0[0] == "0x0108,0x0108,0x0108" && $0[1] == "0x01,0x02,0x03" }, "\(lines)")
        #expect(decoded.contains { $0.count == 4 && $0[3] == "80" } && decoded.contains { $0.count == 4 && $0[2] == "80" })
        let log = run.stop()
        #expect(!log.contains("dropped gwlb"), "\(log)")
    }

    /// An appliance's rule drops what it inspects: a SYN to port 23 never reaches the website
    /// (curl times out), where without the rule the website's RST refuses it at once.
    @Test func anApplianceRuleDropsWhatItInspects() throws {
        let run = try LiveRun(name: "live-fw", yaml: liveInspectionYAML(drop: "[tcp:23]"))
        #expect(try run.get("app", "http://203.0.113.80/") == "served by website in internet", "\(run.log)")
        let blocked = try run.run("app", "curl", ["-s", "-m", "2", "http://203.0.113.80:23/"])
        #expect(blocked.status == 28, "timed out, not refused: \(blocked.status)")
        run.stop()
        let open = try LiveRun(name: "live-fw-open", yaml: liveInspectionYAML())
        let refused = try open.run("app", "curl", ["-s", "-m", "2", "http://203.0.113.80:23/"])
        #expect(refused.status == 7, "refused by the website: \(refused.status)")
    }

    /// Eight UDP flows through the two appliances; fw-1 is killed; health checks find it
    /// unhealthy within interval × threshold; then the failover mode decides (docs/aws-behaviour.md
    /// §6):
    /// `rebalance` moves fw-1's flows to fw-2, `no_rebalance` leaves them where they are (lost)
    /// while new flows go to fw-2. Flows on fw-2 never notice.
    @Test(arguments: ["rebalance", "no_rebalance"])
    func flowsOfAStoppedApplianceFollowTheFailoverMode(_ failover: String) throws {
        let run = try LiveRun(name: "live-failover", yaml: liveInspectionYAML(failover: failover))
        let pids = try runProgram("ip", ["netns", "pids", run.namespace("fw-1")]).output
            .split(separator: "\n").map(String.init).joined(separator: ",")
        // Probes each flow every 0.3 s for 18 s after killing fw-1's appliance; prints per flow
        // whether each probe was echoed.
        let script = """
            import json, os, socket, time
            flows = []
            for i in range(8):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.0.1.4', 41000 + i))
                s.connect(('203.0.113.7', 7)); s.settimeout(0.25); flows.append(s)
            seq = [0]
            def probe(s):
                seq[0] += 1; token = b'probe %d' % seq[0]; s.send(token); end = time.time() + 0.25
                while time.time() < end:
                    try:
                        if s.recv(200).endswith(token): return True
                    except OSError: return False
                return False
            before = [probe(s) for s in flows]
            for pid in '\(pids)'.split(','): os.kill(int(pid), 9)
            start = time.time(); after = [[] for _ in flows]
            while time.time() - start < 18:
                for i, s in enumerate(flows): after[i].append(probe(s))
            print(json.dumps({'before': before, 'after': after}))
            """
        let result = try run.run("app", "python3", ["-c", script])
        let report = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let before = report?["before"] as? [Bool] ?? []
        let after = report?["after"] as? [[Bool]] ?? []
        #expect(before == [Bool](repeating: true, count: 8), "every flow echoed before: \(result.output) \(result.error)")
        let hit = after.indices.filter { after[$0].contains(false) }
        #expect(!hit.isEmpty, "some flows were on fw-1")
        #expect(hit.count < 8, "some flows were on fw-2")
        for index in hit {
            let tail = after[index].suffix(10)
            if failover == "rebalance" {
                #expect(tail.allSatisfy { $0 }, "flow \(index) moved to fw-2 and is echoed again")
            } else {
                let lost = after[index].drop(while: { $0 })
                #expect(!lost.contains(true), "flow \(index) stays with fw-1 and is lost")
            }
        }
        #expect(after.indices.filter { !hit.contains($0) }.allSatisfy { after[$0].allSatisfy { $0 } })
        // New flows avoid the unhealthy appliance either way.
        #expect(try run.get("app", "http://203.0.113.80/") == "served by website in internet")
        let log = run.stop()
        #expect(log.contains("target fw-1:6081 in firewalls is unhealthy"), "\(log)")
    }
}
