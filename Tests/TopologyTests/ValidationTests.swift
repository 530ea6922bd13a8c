import Testing
import Topology

// One test per validation rule: the message and the position (the ⁁ in each case's YAML).

@Suite("Validation")
struct ValidationTests {
    @Test func baseIsValid() {
        #expect(expectValid(baseYAML) != nil)
    }

    @Test func yamlSyntax() {
        expectDiagnostic(edited("  - {name: us-east-1b, id: use1-az2}\n", "  - {name: us-east-1b, id: use1-az2\naccounts2⁁: x\n"),
                         "YAML syntax: while parsing a flow mapping")
    }

    @Test func duplicateKey() {
        expectDiagnostic(edited("    type: network\n", "    type: network\n    ⁁type: gateway\n"),
                         "duplicate key 'type' in one mapping")
    }

    @Test func unknownFieldWithDidYouMean() {
        expectDiagnostic(edited("    type: network\n", "    type: network\n    ⁁crossZones: true\n"),
                         "unknown field 'crossZones' in load balancer 'nlb'; did you mean 'crossZone'?")
        expectDiagnostic(edited("region: us-east-1\n", "region: us-east-1\n⁁endpointService: []\n"),
                         "unknown field 'endpointService' in the topology; did you mean 'endpointServices'?")
    }

    @Test func unknownReference() {
        expectDiagnostic(edited("{name: consumer-b, vpc: consumer,", "{name: consumer-b, vpc: ⁁consumr,"),
                         "subnet 'consumer-b' refers to unknown VPC 'consumr'; did you mean 'consumer'?")
        expectDiagnostic(edited("targets: [{host: server}]", "targets: [{host: ⁁sever}]"),
                         "target group 'servers' refers to unknown host 'sever'; did you mean 'server'?")
    }

    /// A host's instance ID (an account's, as `privet import aws` keeps it): of EC2's shape.
    @Test func instanceIDs() {
        let given = edited("{name: client, subnet: consumer-a}", "{name: client, id: i-0123456789abcdef0, subnet: consumer-a}")
        #expect(expectValid(given)?.hosts.first { $0.name == "client" }?.instanceID == "i-0123456789abcdef0")
        expectDiagnostic(edited("{name: client, subnet: consumer-a}", "{name: client, id: ⁁instance-1, subnet: consumer-a}"),
                         "'instance-1' is not an instance ID: expected 'i-' and up to 17 lowercase hex digits")
    }

    @Test func cidrThatIsNotACIDR() {
        expectDiagnostic(edited("cidr: 10.2.2.0/24}", "cidr: ⁁10.2.2.0/33}"),
                         "'cidr' of subnet 'consumer-b': '10.2.2.0/33' is not an IPv4 CIDR block")
        expectDiagnostic(edited("cidr: 10.2.2.0/24}", "cidr: ⁁10.2.2.1/24}"),
                         "'10.2.2.1/24' has host bits set; did you mean '10.2.2.0/24'?")
        expectDiagnostic(edited("ipv6Cidr: \"fd00:2::/56\"}", "ipv6Cidr: ⁁\"fd00:2::/zz\"}"),
                         "'ipv6Cidr' of VPC 'consumer': 'fd00:2::/zz' is not an IPv6 CIDR block")
    }

    /// AWS's subnet blocks are /16 to /28 (IPv6 /44 to /64). A smaller block with hosts in it
    /// is one located error, and no address is worked out from it (a /32 has no host range).
    @Test(arguments: ["10.1.1.0/29", "10.1.1.0/30", "10.1.1.0/31", "10.1.1.0/32", "10.0.0.0/15"])
    func subnetBlockOutsideAWSRange(_ block: String) {
        let length = block.split(separator: "/")[1]
        let yaml = edited("cidr: 10.1.1.0/24,", "cidr: ⁁\(block),",
                          in: edited("cidr: 10.1.0.0/16,", "cidr: 10.0.0.0/8,"))
        let load = expectDiagnostic(yaml, "subnet 'provider-a': a subnet CIDR block must be between /16 and /28, not /\(length)")
        #expect(load.errors.count == 2, "the VPC's /8 and the subnet's block, nothing else: \(load.errors)")
        let ipv6 = expectDiagnostic(edited("ipv6Cidr: \"fd00:1:0:1::/64\"}", "ipv6Cidr: ⁁\"fd00:1:0:1::/127\"}"),
                                    "subnet 'provider-a': a subnet IPv6 block must be between /44 and /64, not /127")
        #expect(ipv6.errors.count == 1, "\(ipv6.errors)")
    }

    /// Names become namespace names, capture file names and CSV fields: letters, digits, '.',
    /// '_' and '-' only, as AWS Name tags and file names bear them safely.
    @Test(arguments: [("web a", " "), ("a,b", ","), ("x/y", "/"), ("café", "é"), ("two\nlines", "\\u{A}")])
    func namesOfOtherCharacters(_ name: String, _ character: String) {
        let quoted = "\"" + name.replacingOccurrences(of: "\n", with: "\\n") + "\""
        expectDiagnostic(edited("{name: client, subnet: consumer-a}", "{name: ⁁\(quoted), subnet: consumer-a}"),
                         "host name '\(name.replacingOccurrences(of: "\n", with: "\\u{A}"))' has the character '\(character)'; names are letters, digits, '.', '_' and '-'")
    }

    @Test func emptyAndOverlongNames() {
        expectDiagnostic(edited("{name: client, subnet: consumer-a}", "{name: ⁁\"\", subnet: consumer-a}"), "a host name cannot be empty")
        let long = String(repeating: "h", count: 256)
        expectDiagnostic(edited("{name: client, subnet: consumer-a}", "{name: ⁁\(long), subnet: consumer-a}"),
                         "is 256 characters long; at most 255")
        #expect(Topology.load(yaml: edited("{name: client, subnet: consumer-a}", "{name: \(long.dropLast()), subnet: consumer-a}")).errors.isEmpty)
    }

    /// Domain names DNS can carry: labels of 1 to 63 characters, 253 in all.
    @Test func domainNames() {
        let zone = "hostedZones:\n  - name: ⁁corp.example\n    private: true\n    vpcs: [consumer]\n    records: [{name: db.corp.example, type: A, values: [10.2.1.50]}]\n"
        #expect(Topology.load(yaml: baseYAML + zone.replacingOccurrences(of: "⁁", with: "")).errors.isEmpty)
        expectDiagnostic(baseYAML + zone.replacingOccurrences(of: "corp.example\n", with: "corp..example\n"),
                         "the name of hosted zone 'corp..example', 'corp..example', is not a domain name")
        let label = String(repeating: "a", count: 64)
        expectDiagnostic(baseYAML + zone.replacingOccurrences(of: "db.corp.example", with: "⁁\(label).corp.example").replacingOccurrences(of: "name: ⁁corp", with: "name: corp"),
                         "a record name of hosted zone 'corp.example', '\(label).corp.example', is not a domain name")
        expectDiagnostic(baseYAML + zone.replacingOccurrences(of: "corp.example\n", with: "\"corp example\"\n"),
                         "has the character ' '; domain names here are letters, digits, '-' and '_'")
    }

    /// The NLB target-group attributes, where AWS allows them.
    @Test func targetGroupAttributes() {
        expectDiagnostic(edited("    protocol: TCP\n    port: 80\n", "    protocol: UDP\n    port: 80\n    proxyProtocolV2: ⁁true\n"),
                         "target group 'servers': Proxy Protocol v2 is for TCP and TLS target groups, not UDP")
        expectDiagnostic(edited("    protocol: TCP\n    port: 80\n", "    protocol: TCP\n    port: 80\n    ipAddressType: ⁁ipv6\n"),
                         "target group 'servers' has IPv6 targets, but load balancer 'nlb' is not dualstack: it cannot reach them")
        expectDiagnostic(edited("    protocol: TCP\n    port: 80\n", "    protocol: UDP\n    port: 80\n    targetType: ip\n    preserveClientIp: ⁁false\n"),
                         "target group 'servers': client IP preservation cannot be turned off for IP targets over UDP")
        let valid = edited("    protocol: TCP\n    port: 80\n", "    protocol: TCP\n    port: 80\n    proxyProtocolV2: true\n    targetType: ip\n    preserveClientIp: true\n")
        let group = expectValid(valid)?.targetGroups.first
        #expect(group?.proxyProtocolV2 == true && group?.targetType == .ip && group?.preserveClientIp == true)
        #expect(expectValid(baseYAML)?.targetGroups.first?.preserveClientIp == true, "instance targets: on by default")
    }

    @Test func subnetOutsideItsVPC() {
        expectDiagnostic(edited("cidr: 10.2.2.0/24}", "cidr: ⁁10.3.2.0/24}"),
                         "subnet 'consumer-b': 10.3.2.0/24 is outside the CIDR block 10.2.0.0/16 of VPC 'consumer'")
    }

    @Test func overlappingSubnets() {
        expectDiagnostic(edited("cidr: 10.2.2.0/24}", "cidr: ⁁10.2.1.128/25}"),
                         "subnet 'consumer-b': 10.2.1.128/25 overlaps 10.2.1.0/24 of subnet 'consumer-a'")
    }

    @Test func addressOutsideItsSubnet() {
        expectDiagnostic(edited("{name: client, subnet: consumer-a}", "{name: client, subnet: consumer-a, addresses: [⁁10.2.2.9]}"),
                         "host 'client': 10.2.2.9 is outside subnet 'consumer-a' (10.2.1.0/24)")
    }

    @Test(arguments: [("10.2.1.0", "the network address"), ("10.2.1.1", "the VPC router"),
                      ("10.2.1.2", "the Amazon DNS server"), ("10.2.1.3", "reserved for future use"),
                      ("10.2.1.255", "the broadcast address")])
    func reservedAddress(_ address: String, _ reason: String) {
        expectDiagnostic(edited("{name: client, subnet: consumer-a}", "{name: client, subnet: consumer-a, addresses: [⁁\(address)]}"),
                         "host 'client': \(address) is reserved by AWS in subnet 'consumer-a' (\(reason))")
    }

    @Test func reservedIPv6Address() {
        expectDiagnostic(edited("{name: client, subnet: consumer-a}", "{name: client, subnet: consumer-a, addresses: [⁁\"fd00:2:0:1::3\"]}"),
                         "fd00:2:0:1::3 is reserved by AWS in subnet 'consumer-a'")
    }

    @Test func addressTakenTwice() {
        let yaml = edited("  - {name: client, subnet: consumer-a}\n",
                          "  - {name: client, subnet: consumer-a, addresses: [10.2.1.50]}\n  - {name: other, subnet: consumer-a, addresses: [⁁10.2.1.50]}\n")
        expectDiagnostic(yaml, "host 'other': 10.2.1.50 is taken twice; it is already the address of host 'client'")
        // An endpoint's designated address counts too.
        let endpoint = edited("    subnets: [consumer-a]\n    decision", "    subnets: [{subnet: consumer-a, ipv4: ⁁10.2.1.50}]\n    decision",
                              in: edited("{name: client, subnet: consumer-a}", "{name: client, subnet: consumer-a, addresses: [10.2.1.50]}"))
        expectDiagnostic(endpoint, "the ENI of endpoint 'endpoint' in subnet 'consumer-a': 10.2.1.50 is taken twice")
    }

    @Test func twoEndpointSubnetsInOneZone() {
        let yaml = edited("  - {name: consumer-b, vpc: consumer, zone: us-east-1b, cidr: 10.2.2.0/24}\n",
                          "  - {name: consumer-b, vpc: consumer, zone: us-east-1b, cidr: 10.2.2.0/24}\n  - {name: consumer-c, vpc: consumer, zone: us-east-1a, cidr: 10.2.3.0/24}\n")
        expectDiagnostic(edited("subnets: [consumer-a]", "subnets: [consumer-a, ⁁consumer-c]", in: yaml),
                         "endpoint 'endpoint' has two subnets in zone us-east-1a: 'consumer-a' and 'consumer-c'")
    }

    /// The base with a GWLB, its GENEVE target group and its service added.
    static func withGWLB() -> String {
        var yaml = edited("      - {protocol: TCP, port: 80, targetGroup: servers}\n",
                          "      - {protocol: TCP, port: 80, targetGroup: servers}\n  - name: gwlb\n    type: gateway\n"
                              + "    subnets: [provider-a]\n    listeners: [{targetGroup: appliances}]\n")
        yaml = edited("    targets: [{host: server}]\n",
                      "    targets: [{host: server}]\n  - name: appliances\n    protocol: GENEVE\n    targets: [{host: server}]\n",
                      in: yaml)
        return edited("    allowedPrincipals: [arn:aws:iam::222222222222:root]\n",
                      "    allowedPrincipals: [arn:aws:iam::222222222222:root]\n  - name: inspection\n"
                          + "    loadBalancers: [gwlb]\n    allowedPrincipals: [\"*\"]\n", in: yaml)
    }

    @Test func gwlbWorksInTheBase() {
        #expect(expectValid(Self.withGWLB()) != nil)
    }

    @Test func gwlbEndpointWithOtherThanOneSubnet() {
        let yaml = Self.withGWLB() + """
              - name: gwlbe
                type: GatewayLoadBalancer
                vpc: consumer
                service: inspection
                subnets: [consumer-a, ⁁consumer-b]

            """
        expectDiagnostic(yaml, "endpoint 'gwlbe' is a Gateway Load Balancer endpoint: it has exactly one subnet, not 2")
    }

    @Test func interfaceEndpointToAGWLBService() {
        let yaml = Self.withGWLB() + """
              - name: wrong
                type: Interface
                vpc: consumer
                service: ⁁inspection
                subnets: [consumer-b]

            """
        expectDiagnostic(yaml, "endpoint 'wrong' is an Interface endpoint, but service 'inspection' is a Gateway Load Balancer service; use type GatewayLoadBalancer")
    }

    @Test func gwlbEndpointToAnNLBService() {
        let yaml = baseYAML + """
              - name: wrong
                type: GatewayLoadBalancer
                vpc: consumer
                service: ⁁service
                subnets: [consumer-b]

            """
        expectDiagnostic(yaml, "endpoint 'wrong' is a GatewayLoadBalancer endpoint, but service 'service' is served by Network Load Balancers; use type Interface")
    }

    @Test func ipAddressTypeTheSubnetsCannotCarry() {
        let yaml = edited("    subnets: [consumer-a]\n    decision", "    subnets: [consumer-a, consumer-b]\n    ipAddressType: ⁁dualstack\n    decision")
        expectDiagnostic(yaml, "endpoint 'endpoint' has ipAddressType dualstack, but not all of its subnets have both an IPv4 and an IPv6 block")
    }

    @Test func ipAddressTypeTheServiceCannotCarry() {
        let yaml = edited("    subnets: [consumer-a]\n    decision", "    subnets: [consumer-a]\n    ipAddressType: ⁁dualstack\n    decision")
        expectDiagnostic(yaml, "endpoint 'endpoint' has ipAddressType dualstack, but endpoint service 'service' supports IPv4 only")
    }

    @Test func principalTheServiceDoesNotAllow() {
        let yaml = edited("    decision: accepted\n", "    decision: accepted\n    principal: ⁁arn:aws:iam::999999999999:role/ops\n")
        expectDiagnostic(yaml, "principal arn:aws:iam::999999999999:role/ops is not allowed by endpoint service 'service' (allowedPrincipals: arn:aws:iam::222222222222:root); AWS refuses to create such an endpoint")
        // The account root allows every principal of that account.
        #expect(expectValid(edited("    decision: accepted\n", "    decision: accepted\n    principal: arn:aws:iam::222222222222:role/ops\n")) != nil)
    }

    @Test func listenerAndTargetPortsOutOfRange() {
        expectDiagnostic(edited("{protocol: TCP, port: 80, targetGroup: servers}", "{protocol: TCP, port: ⁁70000, targetGroup: servers}"),
                         "'port' of listener 1 of load balancer 'nlb' must be a whole number from 1 to 65535, not '70000'")
        expectDiagnostic(edited("targets: [{host: server}]", "targets: [{host: server, port: ⁁0}]"),
                         "'port' of target 1 of target group 'servers' must be a whole number from 1 to 65535, not '0'")
    }

    @Test(arguments: [("interval", 3, "5 to 300"), ("interval", 301, "5 to 300"), ("timeout", 1, "2 to 120"),
                      ("timeout", 121, "2 to 120"), ("healthyThreshold", 11, "2 to 10"), ("unhealthyThreshold", 1, "2 to 10")])
    func healthCheckOutOfRange(_ field: String, _ value: Int, _ range: String) {
        expectDiagnostic(edited("    targets: [{host: server}]\n", "    targets: [{host: server}]\n    healthCheck: {\(field): ⁁\(value)}\n"),
                         "'\(field)' of the health check of target group 'servers' is \(value); AWS allows \(range)")
    }

    @Test func targetOutsideTheLoadBalancersVPC() {
        expectDiagnostic(edited("targets: [{host: server}]", "targets: [{host: server}, {host: ⁁client}]"),
                         "target group 'servers': target 'client' is in VPC 'consumer', not in a subnet of the VPC of load balancer 'nlb' ('provider')")
    }

    @Test func consumerZoneTheLoadBalancerDoesNotCover() {
        let load = expectDiagnostic(edited("subnets: [consumer-a]", "subnets: [consumer-a, ⁁consumer-b]"),
                                    "endpoint 'endpoint': zone us-east-1b (use1-az2) of subnet 'consumer-b' is not a zone of the load balancers of endpoint service 'service'",
                                    severity: .warning)
        #expect(load.topology != nil, "a warning does not stop the file from resolving")
    }

    @Test func duplicateNames() {
        expectDiagnostic(edited("  - {name: client, subnet: consumer-a}\n", "  - {name: client, subnet: consumer-a}\n  - {name: ⁁client, subnet: consumer-b}\n"),
                         "a host named 'client' is already defined; names must be unique")
    }

    @Test func wrongKindsOfValues() {
        expectDiagnostic(edited("    type: network\n", "    type: network\n    crossZone: ⁁sometimes\n"),
                         "'crossZone' of load balancer 'nlb' must be true or false, not 'sometimes'")
        expectDiagnostic(edited("    type: network\n", "    type: ⁁netwrk\n"),
                         "'type' of load balancer 'nlb' must be one of network, gateway, not 'netwrk'; did you mean 'network'?")
        expectDiagnostic(edited("    subnets: [provider-a]\n    listeners", "    subnets: ⁁{a: b}\n    listeners"),
                         "'subnets' of load balancer 'nlb' must be a single value, not a mapping")
    }

    @Test func missingRequiredField() {
        expectDiagnostic(edited("  - name: servers\n    protocol: TCP\n", "  - ⁁name: servers\n"),
                         "target group 'servers' needs 'protocol'")
    }

    @Test func routeTargets() {
        let yaml = edited("endpoints:\n", """
            routeTables:
              - name: app
                vpc: consumer
                routes:
                  - {destination: 0.0.0.0/0, target: ⁁internetGateway}
            endpoints:

            """)
        expectDiagnostic(yaml, "a route of route table 'app' targets the internet gateway, but VPC 'consumer' has none")
        let toInterface = edited("{destination: 0.0.0.0/0, target: ⁁internetGateway}", "{destination: 0.0.0.0/0, target: ⁁endpoint}", in: yaml)
        expectDiagnostic(toInterface, "only Gateway Load Balancer endpoints can be route targets")
    }
}

extension ValidationTests {
    /// A GWLB's TCP idle timeout can be changed only with 5-tuple stickiness (docs/aws-behaviour.md
    /// §6).
    @Test func gwlbIdleTimeoutNeedsFiveTupleStickiness() {
        var yaml = edited("listeners: [{targetGroup: appliances}]", "listeners: [{targetGroup: appliances, idleTimeout: ⁁900}]",
                          in: Self.withGWLB())
        yaml = edited("    protocol: GENEVE\n", "    protocol: GENEVE\n    stickiness: 3-tuple\n", in: yaml)
        expectDiagnostic(yaml, "'idleTimeout' of the listener of load balancer 'gwlb': target group 'appliances' has 3-tuple stickiness, and a GWLB's TCP idle timeout can be changed only with 5-tuple stickiness")
        let fiveTuple = edited("listeners: [{targetGroup: appliances}]",
                               "listeners: [{targetGroup: appliances, idleTimeout: 900, sendTcpResetOnIdleTimeout: true}]",
                               in: Self.withGWLB())
        let listener = expectValid(fiveTuple)?.loadBalancers.first { $0.name == "gwlb" }?.listeners.first
        #expect(listener?.idleTimeout == 900 && listener?.sendTcpResetOnIdleTimeout == true)
    }

    @Test func tcpResetOnIdleTimeoutIsAGWLBSetting() {
        expectDiagnostic(edited("{protocol: TCP, port: 80, targetGroup: servers}",
                                "{protocol: TCP, port: 80, targetGroup: servers, sendTcpResetOnIdleTimeout: ⁁true}"),
                         "'sendTcpResetOnIdleTimeout' is a Gateway Load Balancer listener attribute; load balancer 'nlb' is a Network Load Balancer")
    }

    /// A GENEVE target that runs no appliance is allowed, with a warning.
    @Test func geneveTargetWithoutAnAppliance() {
        expectDiagnostic(edited("    protocol: GENEVE\n    targets: [{host: server}]", "    protocol: GENEVE\n    targets: [{host: ⁁server}]",
                                in: Self.withGWLB()),
                         "target group 'appliances': host 'server' runs no appliance", severity: .warning)
    }

    /// The reference appliance as a host's server, with its rules checked.
    @Test func applianceServerRules() {
        let yaml = edited("{name: client, subnet: consumer-a}",
                          "{name: client, subnet: consumer-a, server: {protocol: appliance, port: 80, drop: [tcp:23, ⁁sctp], count: [udp]}}")
        expectDiagnostic(yaml, "'sctp' is not an appliance rule; use tcp, udp, icmp, icmpv6, tcp:PORT or udp:PORT")
        let good = edited("{name: client, subnet: consumer-a}",
                          "{name: client, subnet: consumer-a, server: {protocol: appliance, port: 80, drop: [tcp:23], count: [udp]}}")
        let server = expectValid(good)?.hosts.first { $0.name == "client" }?.server
        #expect(server?.kind == .appliance && server?.drops == [ApplianceRule("tcp:23")!] && server?.counts == [ApplianceRule("udp")!])
        expectDiagnostic(edited("server: {protocol: http, port: 80}", "server: {protocol: http, port: 80, drop: [⁁tcp]}"),
                         "the server of host 'server' is 'http'; only an appliance has drop and count rules")
    }
}
