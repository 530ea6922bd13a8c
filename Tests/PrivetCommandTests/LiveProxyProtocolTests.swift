import Foundation
import Glibc
import Testing
import TestSupport
import Topology

/// The live topology with a listener on 9000 whose group has Proxy Protocol v2: web-a:8081,
/// where the test runs haproxy with `accept-proxy`; HTTP health checks every 5 s.
func liveProxyProtocolYAML() -> String {
    var yaml = liveTopologyYAML()
    for (old, new) in [
        ("      - {protocol: tcp, ports: 5201, cidr: 10.1.0.0/16}\n",
         "      - {protocol: tcp, ports: 5201, cidr: 10.1.0.0/16}\n      - {protocol: tcp, ports: 8081, cidr: 10.1.0.0/16}\n"),
        ("      - {protocol: tcp, ports: 5201, cidr: 10.2.0.0/16}\n",
         "      - {protocol: tcp, ports: 5201, cidr: 10.2.0.0/16}\n      - {protocol: tcp, ports: 9000, cidr: 10.2.0.0/16}\n"),
        ("      - {protocol: TCP, port: 5201, targetGroup: iperf}\n",
         "      - {protocol: TCP, port: 5201, targetGroup: iperf}\n      - {protocol: TCP, port: 9000, targetGroup: proxied}\n"),
        ("endpointServices:\n", """
              - name: proxied
                protocol: TCP
                port: 8081
                proxyProtocolV2: true
                targets: [{host: web-a}]
                healthCheck: {protocol: HTTP, path: /health, interval: 5, timeout: 2, healthyThreshold: 2, unhealthyThreshold: 2}
            endpointServices:

            """),
    ] {
        precondition(yaml.components(separatedBy: old).count == 2, "the live topology changed: \(old)")
        yaml = yaml.replacingOccurrences(of: old, with: new)
    }
    return yaml
}

/// haproxy as a PPv2-speaking target: it takes the PROXY header (`accept-proxy`), logs each
/// request with the client it decoded, and answers with that client and the address it was
/// connected to, as the header said.
let haproxyConfiguration = """
    global
        log stdout format raw local0
    defaults
        mode http
        log global
        option httplog
        timeout connect 5s
        timeout client 5s
        timeout server 5s
    frontend proxied
        bind :8081 accept-proxy
        log-format "request from %ci:%cp %r"
        http-request return status 200 content-type text/plain lf-string "client %[src]:%[src_port] to %[dst]:%[dst_port]\\n"
    """

extension LiveCommandTests {
    /// Proxy Protocol v2 live: haproxy behind the NLB decodes the consumer's address and port and
    /// the endpoint's from the header; tshark on web-a's device reads AWS's TLV (type 0xEA,
    /// subtype 0x01, the endpoint ID) in it; and the health checks, whose header has command
    /// LOCAL, pass haproxy's `accept-proxy`.
    @Test func haproxyDecodesTheProxyHeader() throws {
        let yaml = liveProxyProtocolYAML()
        let proxied = try #require(Topology.load(yaml: yaml).topology)
        let run = try LiveRun(name: "live-ppv2", yaml: yaml)
        let configuration = run.folder.file("haproxy.cfg")
        try (haproxyConfiguration + "\n").write(toFile: configuration, atomically: false, encoding: .utf8)
        let haproxy = try run.start("web-a", "haproxy", ["-db", "-f", configuration])
        defer { if haproxy.isRunning { kill(haproxy.processIdentifier, SIGKILL) } }
        let capture = try run.start("web-a", "tshark", ["-i", try device(run, "web-a"), "-a", "duration:6", "-l", "-n", "-f", "tcp port 8081",
                                                        "-Y", "proxy.v2.magic",
                                                        "-T", "fields", "-E", "separator=;", "-e", "proxy.v2.cmd", "-e", "proxy.src.ipv4",
                                                        "-e", "proxy.srcport", "-e", "proxy.dst.ipv4", "-e", "proxy.dstport",
                                                        "-e", "proxy.v2.tlv.type", "-e", "proxy.v2.tlv.value"])
        sleep(2)
        let endpoint = proxied[proxied.endpoints[0].interfaces[0]]
        guard case .vpc(let clientENI) = proxied.hosts.first(where: { $0.name == "client-a" })!.placement else {
            Issue.record("client-a is not a VPC host")
            return
        }
        let client = proxied[clientENI].ipv4!.description
        let result = try run.run("client-a", "curl", ["-s", "-m", "5", "--local-port", "41000", "http://\(endpoint.ipv4!):9000/"])
        #expect(result.output == "client \(client):41000 to \(endpoint.ipv4!):9000\n", "\(result.output) \(result.error)")

        let fields = output(capture).split(separator: "\n").map { $0.split(separator: ";", omittingEmptySubsequences: false).map(String.init) }
        let fromClient = try #require(fields.first { $0.count == 7 && $0[1] == client }, "tshark saw: \(fields)")
        #expect(fromClient[0] == "1", "command PROXY")
        #expect(fromClient[2] == "41000" && fromClient[3] == endpoint.ipv4!.description && fromClient[4] == "9000")
        let endpointID = Array(proxied.endpoints[0].id.utf8).map { String(format: "%02x", $0) }.joined()
        #expect(fromClient[5] == "0xea", "AWS's TLV type")
        #expect(fromClient[6] == "01" + endpointID, "subtype 1, then \(proxied.endpoints[0].id)")
        #expect(fields.contains { $0.first == "0" }, "a health check's header, command LOCAL: \(fields)")

        // Health checks went through accept-proxy (a LOCAL header): haproxy logged them from the
        // node's own address, and none failed.
        let node = proxied[proxied.loadBalancers[0].nodes[0].interface].ipv4!.description
        sleep(4)
        let log = run.stop()
        kill(haproxy.processIdentifier, SIGKILL)
        haproxy.waitUntilExit()
        let haproxyLog = String(decoding: (haproxy.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(haproxyLog.contains("request from \(node):") && haproxyLog.contains("GET /health HTTP/1.0"), "\(haproxyLog)")
        #expect(haproxyLog.contains("request from \(client):41000 GET / HTTP/1.1"), "\(haproxyLog)")
        #expect(!log.contains("web-a:8081 in proxied is unhealthy"), "\(log)")
    }
}
