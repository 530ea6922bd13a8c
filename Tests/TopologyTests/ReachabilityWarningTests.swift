import Testing
import Topology

/// A valid file that would carry nothing is told so, where the fix belongs.
@Suite("Reachability warnings")
struct ReachabilityWarningTests {
    /// The base topology with the target in a group that admits the provider VPC on its port.
    static let admitted = edited("hosts:\n  - {name: server, subnet: provider-a, server: {protocol: http, port: 80}}",
                                 "securityGroups:\n"
                                 + "  - {name: web, vpc: provider, ingress: [{protocol: tcp, ports: 80, cidr: 10.1.0.0/16}]}\n"
                                 + "hosts:\n  - {name: server, subnet: provider-a, securityGroups: [web], server: {protocol: http, port: 80}}")

    static func warnings(_ yaml: String) -> [String] {
        Topology.load(yaml: locateMarker(yaml).0).diagnostics.filter { $0.severity == .warning }.map(\.message)
    }

    /// In its VPC's default group, which admits only its own members, the target admits no
    /// node of the NLB.
    @Test func targetInTheDefaultGroupAdmitsNoNode() {
        expectDiagnostic(edited("targets: [{host: server}]", "targets: [{host: ⁁server}]"),
                         "target group 'servers': target 'server' admits no node of load balancer 'nlb': its security groups (sg-", severity: .warning)
        #expect(Self.warnings(Self.admitted).isEmpty, "\(Self.warnings(Self.admitted))")
    }

    /// A group that admits the nodes on another port is no better.
    @Test func targetAdmittingAnotherPort() {
        let yaml = edited("ports: 80, cidr: 10.1.0.0/16", "ports: 443, cidr: 10.1.0.0/16", in: Self.admitted)
        #expect(Self.warnings(yaml).contains { $0.contains("allow TCP 80 from none of 10.1.1.") }, "\(Self.warnings(yaml))")
    }

    /// An endpoint whose group admits its consumers only on a port the service does not listen on.
    @Test func endpointAdmittingNoConsumer() {
        var yaml = edited("cidr: 10.1.0.0/16}]}\n",
                          "cidr: 10.1.0.0/16}]}\n  - {name: endpoint, vpc: consumer, ingress: [{protocol: tcp, ports: 443, cidr: 10.2.0.0/16}]}\n",
                          in: Self.admitted)
        yaml = edited("  - name: endpoint\n    type: Interface", "  - name: ⁁endpoint\n    type: Interface\n    securityGroups: [endpoint]", in: yaml)
        expectDiagnostic(yaml, "endpoint 'endpoint' admits no consumer: its security groups (sg-", severity: .warning)
        #expect(Self.warnings(yaml).first { $0.contains("admits no consumer") }?.contains("reach it on TCP 80") == true)
    }

    /// A client whose subnet's route table the gateway endpoint of its VPC is not associated
    /// with; the one whose table is gets no warning.
    @Test func clientWithoutARouteToTheGatewayEndpoint() {
        var yaml = edited("cidr: 10.2.1.0/24, ipv6Cidr: \"fd00:2:0:1::/64\"}", "cidr: 10.2.1.0/24, ipv6Cidr: \"fd00:2:0:1::/64\", routeTable: app}",
                          in: Self.admitted)
        yaml = edited("  - {name: client, subnet: consumer-a}\n",
                          "  - {name: client, subnet: consumer-a}\n  - {name: ⁁other, subnet: consumer-b}\n", in: yaml)
        yaml = edited("endpoints:\n",
                      "routeTables:\n  - {name: app, vpc: consumer}\n"
                      + "prefixLists:\n  - {id: pl-63a5400a, name: com.amazonaws.us-east-1.s3, cidrs: [52.216.0.0/15]}\n"
                      + "endpoints:\n  - {name: s3, type: Gateway, vpc: consumer, serviceName: com.amazonaws.us-east-1.s3, routeTables: [app]}\n",
                      in: yaml)
        expectDiagnostic(yaml, "host 'other': route table ", severity: .warning)
        #expect(!Self.warnings(yaml).contains { $0.contains("host 'client'") }, "\(Self.warnings(yaml))")
    }
}
