import Testing
import PacketWire
import Topology

@Suite("Resolution: IDs, names, addresses, states")
struct ResolutionTests {
    static let defaultTopology = Topology.load(yaml: Topology.defaultYAML)

    @Test func defaultTopologyIsCleanAndMatchesTheIssue() throws {
        #expect(Self.defaultTopology.diagnostics.isEmpty, "\(Self.defaultTopology.diagnostics)")
        let topology = try #require(Self.defaultTopology.topology)
        let nlb = try #require(topology.loadBalancers.first { $0.kind == .network })
        #expect(nlb.nodes.count == 3)
        let targetZones = Set(topology.targetGroups.first { $0.name == "web-targets" }!.targets.map(\.zone))
        #expect(targetZones.count == 2, "targets in two of the three zones")
        let service = try #require(topology.endpointServices.first { $0.name == "web-service" })
        #expect(service.acceptanceRequired)
        let endpoints = Dictionary(uniqueKeysWithValues: topology.endpoints.map { ($0.name, $0) })
        #expect(endpoints["web-endpoint"]?.state == .available)
        #expect(endpoints["web-endpoint"]?.privateDnsName == "api.privet.example")
        #expect(endpoints["web-endpoint"]?.ipAddressType == "dualstack")
        #expect(endpoints["partner-endpoint"]?.state == .rejected)
        #expect(endpoints["inspection-endpoint"]?.kind == .gatewayLoadBalancer)
        #expect(endpoints["s3-endpoint"]?.kind == .gateway)
        let endpointZones = Set(endpoints["web-endpoint"]!.interfaces.map { topology[topology[$0].subnet].zone })
        #expect(endpointZones == targetZones, "the endpoint is in the two zones that have targets")
    }

    @Test(arguments: ["minimal-nlb-endpoint.yaml", "gwlb-inspection.yaml", "cross-zone-ipv6.yaml"])
    func examplesValidate(_ name: String) throws {
        let path = #filePath.components(separatedBy: "/Tests/")[0] + "/Examples/" + name
        let load = try TopologyFile.read(path)
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics.map { $0.rendered(file: name) })")
        #expect(load.topology != nil)
    }

    @Test func sameFileSameNames() throws {
        let first = try #require(Topology.load(yaml: Topology.defaultYAML).topology)
        let second = try #require(Topology.load(yaml: Topology.defaultYAML).topology)
        #expect(TopologyDescription(first).json == TopologyDescription(second).json)
    }

    @Test func idsLookLikeAWSAndGivenIDsAreKept() throws {
        let topology = try #require(Self.defaultTopology.topology)
        func isID(_ id: String, _ prefix: String) -> Bool {
            let digits = id.dropFirst(prefix.count + 1)
            return id.hasPrefix(prefix + "-0") && digits.count == 17 && digits.allSatisfy { $0.isHexDigit && !$0.isUppercase }
        }
        #expect(topology.vpcs.allSatisfy { isID($0.id, "vpc") })
        #expect(topology.subnets.allSatisfy { isID($0.id, "subnet") })
        #expect(topology.networkInterfaces.allSatisfy { isID($0.id, "eni") })
        #expect(topology.endpoints.allSatisfy { isID($0.id, "vpce") })
        #expect(topology.endpointServices.allSatisfy { isID($0.id, "vpce-svc") })
        #expect(Set(topology.networkInterfaces.map(\.id)).count == topology.networkInterfaces.count)

        let given = try #require(expectValid(edited("  - name: endpoint\n", "  - name: endpoint\n    id: vpce-0123456789abcdef0\n")))
        #expect(given.endpoints[0].id == "vpce-0123456789abcdef0")
        // Changing one resource leaves the others' IDs alone.
        let renamed = try #require(expectValid(edited("{name: client, subnet", "{name: client2, subnet")))
        let base = try #require(expectValid(baseYAML))
        #expect(renamed.vpcs.map(\.id) == base.vpcs.map(\.id))
        #expect(renamed.endpoints[0].id == base.endpoints[0].id)
    }

    @Test func serviceAndEndpointNames() throws {
        let topology = try #require(Self.defaultTopology.topology)
        let service = topology.endpointServices[0]
        #expect(service.serviceName == "com.amazonaws.vpce.us-east-1.\(service.id)")
        #expect(service.dnsName == "\(service.id).us-east-1.vpce.amazonaws.com")
        let endpoint = topology.endpoints[0]
        let regional = endpoint.dnsNames[0].name
        let prefix = "\(endpoint.id)-"
        #expect(regional.hasPrefix(prefix) && regional.hasSuffix(".\(service.id).us-east-1.vpce.amazonaws.com"))
        let suffix = regional.dropFirst(prefix.count).prefix { $0 != "." }
        #expect(suffix.count == 8 && suffix.allSatisfy { ($0.isLowercase && $0.isLetter) || $0.isNumber })
        #expect(endpoint.dnsNames.dropFirst().map(\.name) == endpoint.dnsNames.dropFirst().map { name in
            "\(endpoint.id)-\(suffix)-\(topology[name.zone!].name).\(service.id).us-east-1.vpce.amazonaws.com"
        })
        #expect(topology.loadBalancers[0].dnsName.hasPrefix("web-nlb-"))
        #expect(topology.loadBalancers[0].dnsName.hasSuffix(".elb.us-east-1.amazonaws.com"))
    }

    @Test func addressesSkipWhatAWSReservesAndTheResolverIsBasePlusTwo() throws {
        let topology = try #require(expectValid(edited("{name: client, subnet: consumer-a}", "{name: client, subnet: consumer-a, addresses: [10.2.1.4]}")))
        #expect(topology.vpcs[1].resolver == IPv4Address(10, 2, 0, 2))
        let client = topology.networkInterfaces.first { $0.owner == .host(Ref(1)) }!
        #expect(client.ipv4 == IPv4Address(10, 2, 1, 4))
        #expect(client.ipv6 == IPv6Address("fd00:2:0:1::4"))
        let endpointENI = topology[topology.endpoints[0].interfaces[0]]
        #expect(endpointENI.ipv4 == IPv4Address(10, 2, 1, 5), "the first free address after the designated one")
        #expect(endpointENI.requesterManaged)
        let server = topology.networkInterfaces.first { $0.owner == .host(Ref(0)) }!
        #expect(server.ipv4 == IPv4Address(10, 1, 1, 4), "offsets 0 to 3 are reserved")
    }

    @Test func fullSubnetIsAnError() {
        var yaml = edited("cidr: 10.2.2.0/24}", "cidr: 10.2.2.0/28}")
        let hosts = (1...12).map { "  - {name: h\($0), subnet: consumer-b}\n" }.joined()
        yaml = edited("  - {name: client, subnet: consumer-a}\n", "  - {name: client, subnet: consumer-a}\n" + hosts, in: yaml)
        let load = Topology.load(yaml: yaml)
        #expect(load.errors.map(\.message).contains("subnet 'consumer-b' (10.2.2.0/28) has no free IPv4 address left for host 'h12'"))
    }

    @Test func denyAllIgwTrafficOnEndpointENIsWithIPv6() throws {
        let topology = try #require(Self.defaultTopology.topology)
        for eni in topology.networkInterfaces {
            if case .endpoint(let endpoint) = eni.owner, topology[endpoint].kind == .interface {
                #expect(eni.denyAllIgwTraffic)
            } else if case .host = eni.owner {
                #expect(!eni.denyAllIgwTraffic)
            }
        }
    }

    @Test func routeTablesGetLocalAndGatewayEndpointRoutes() throws {
        let topology = try #require(Self.defaultTopology.topology)
        let app = try #require(topology.routeTables.first { $0.name == "consumer-app" })
        let consumer = topology.vpcs.first { $0.name == "consumer" }!
        #expect(app.routes.first?.destination == .ipv4(consumer.cidr))
        #expect(app.routes.first?.target == .local)
        let s3 = topology.endpoints.firstIndex { $0.name == "s3-endpoint" }!
        #expect(app.routes.contains { $0.target == .gatewayEndpoint(Ref(s3)) && $0.destination == .prefixList(Ref(0)) })
        let gwlbe = topology.endpoints.firstIndex { $0.name == "inspection-endpoint" }!
        #expect(app.routes.contains { $0.target == .gatewayLoadBalancerEndpoint(Ref(gwlbe)) })
        let edge = consumer.internetGateway?.edgeRouteTable
        #expect(edge.map { topology[$0].name } == "consumer-edge")
        // A subnet with no table uses its VPC's main table, which holds only local routes.
        let partner = topology.subnets.first { $0.name == "partner-a" }!
        #expect(topology[partner.routeTable].isMain && topology[partner.routeTable].routes.count == 1)
    }

    @Test func healthCheckDefaultsFollowAWS() throws {
        let topology = try #require(Self.defaultTopology.topology)
        let web = topology.targetGroups.first { $0.name == "web-targets" }!
        let check = web.healthCheck
        #expect(check.protocolName == "HTTP" && check.port == nil && check.path == "/")
        #expect((check.interval, check.timeout, check.healthyThreshold, check.unhealthyThreshold) == (30, 6, 5, 2))
        #expect(web.deregistrationDelay == 300 && web.connectionTermination)
        let appliances = topology.targetGroups.first { $0.name == "appliances" }!
        #expect(appliances.port == 6081)
        let geneve = appliances.healthCheck
        #expect(geneve.protocolName == "TCP" && geneve.port == 80 && geneve.path == nil)
        #expect((geneve.interval, geneve.timeout, geneve.healthyThreshold, geneve.unhealthyThreshold) == (10, 5, 5, 2))
        #expect(appliances.stickiness == .fiveTuple && appliances.targetFailover == .noRebalance)
        let listener = topology.loadBalancers[0].listeners[0]
        #expect(listener.idleTimeout == 350)
    }

    @Test func decisionsBecomeStates() throws {
        for (acceptance, decision, state) in [("true", "accepted", ConnectionState.available), ("true", "rejected", .rejected),
                                              ("true", "none", .pendingAcceptance), ("false", "none", .available)] {
            var yaml = edited("    decision: accepted\n", "    decision: \(decision)\n")
            yaml = edited("    loadBalancers: [nlb]\n", "    loadBalancers: [nlb]\n    acceptanceRequired: \(acceptance)\n", in: yaml)
            let topology = Topology.load(yaml: yaml).topology
            #expect(topology?.endpoints[0].state == state, "acceptance \(acceptance), decision \(decision)")
        }
    }
}

@Suite("Connection states")
struct ConnectionStateTests {
    @Test func transitionsFollowAWS() {
        #expect(ConnectionState.initial(acceptanceRequired: true) == .pendingAcceptance)
        #expect(ConnectionState.initial(acceptanceRequired: false) == .pending)
        #expect(ConnectionState.pendingAcceptance.after(.accept) == .pending)
        #expect(ConnectionState.pending.after(.provisioned) == .available)
        #expect(ConnectionState.available.after(.reject) == .rejected, "a provider can reject an available endpoint")
        #expect(ConnectionState.pendingAcceptance.after(.expire) == .expired)
        #expect(ConnectionState.available.after(.modify) == .pending)
        #expect(ConnectionState.pending.after(.fail) == .failed)
        #expect(ConnectionState.available.after(.delete) == .deleting)
        #expect(ConnectionState.deleting.after(.deleted) == .deleted)
        #expect(ConnectionState.rejected.after(.accept) == nil)
        #expect(ConnectionState.deleted.after(.delete) == nil)
        #expect(ConnectionState.available.after(.accept) == nil)
        #expect(ConnectionState.allCases.filter(\.carriesTraffic) == [.available])
    }

    /// Every state is reachable from creation by some sequence of events.
    @Test func everyStateIsReachable() {
        var reached: Set<ConnectionState> = [.pendingAcceptance, .pending]
        var frontier = Array(reached)
        while let state = frontier.popLast() {
            for event in ConnectionState.Event.allCases {
                if let next = state.after(event), reached.insert(next).inserted { frontier.append(next) }
            }
        }
        #expect(reached == Set(ConnectionState.allCases))
    }
}
