import Dataplane
import PacketWire

extension Topology {
    /// The dataplane's ports, in order: one per host ENI (in host order), then each VPC's
    /// internet gateway, then the network of each gateway-endpoint service (by prefix list), then
    /// each resolving VPC's resolver, then the health checker when there are load balancers.
    public var ports: [ForwardingTables.Port] {
        var ports: [ForwardingTables.Port] = []
        for host in hosts {
            if case .vpc(let interface) = host.placement {
                ports.append(ForwardingTables.Port(kind: .interface(interface.index), name: host.name))
            }
        }
        for (index, vpc) in vpcs.enumerated() where vpc.internetGateway != nil {
            ports.append(ForwardingTables.Port(kind: .internetGateway(vpc: index), name: "igw-\(vpc.name)"))
        }
        for (index, list) in prefixLists.enumerated() {
            ports.append(ForwardingTables.Port(kind: .serviceNetwork(prefixList: index), name: list.name))
        }
        for (index, vpc) in vpcs.enumerated() where vpc.enableDnsSupport {
            ports.append(ForwardingTables.Port(kind: .resolver(vpc: index), name: "resolver-\(vpc.name)"))
        }
        if !loadBalancers.isEmpty { ports.append(ForwardingTables.Port(kind: .healthChecks, name: "health-checks")) }
        return ports
    }

    /// Compiles the topology into the dataplane's forwarding tables.
    public func forwardingTables() -> ForwardingTables {
        let ports = self.ports
        func port(_ kind: ForwardingTables.Port.Kind) -> Int? { ports.firstIndex { $0.kind == kind } }

        let interfaces = networkInterfaces.enumerated().map { index, eni -> ForwardingTables.Interface in
            let subnet = self[eni.subnet]
            let owner: ForwardingTables.Interface.Owner
            switch eni.owner {
            case .host: owner = .host(port: port(.interface(index))!)
            case .endpoint(let endpoint): owner = .endpoint(endpoint.index)
            case .loadBalancer(let balancer):
                let node = loadBalancers[balancer.index].nodes.firstIndex { self[$0.interface].id == eni.id }!
                owner = .loadBalancerNode(balancer: balancer.index, node: node)
            }
            return ForwardingTables.Interface(
                id: eni.id, accountID: self[subnet.vpc].accountID, vpc: subnet.vpc.index, subnet: eni.subnet.index,
                zone: subnet.zone.index, ipv4: eni.ipv4, ipv6: eni.ipv6, owner: owner,
                securityGroups: eni.securityGroups.map(\.index), sourceDestCheck: eni.sourceDestCheck,
                denyAllIgwTraffic: eni.denyAllIgwTraffic)
        }

        let compiledVPCs = vpcs.enumerated().map { index, vpc in
            ForwardingTables.VPC(name: vpc.name, cidr: vpc.cidr, ipv6Cidr: vpc.ipv6Cidr,
                                 internetGatewayPort: port(.internetGateway(vpc: index)),
                                 edgeRouteTable: vpc.internetGateway?.edgeRouteTable?.index,
                                 resolver: vpc.enableDnsSupport ? vpc.resolver : nil,
                                 resolverPort: port(.resolver(vpc: index)))
        }

        let compiledRouteTables = routeTables.map { table -> ForwardingTables.RouteTable in
            var compiled = ForwardingTables.RouteTable()
            func target(_ route: Route) -> ForwardingTables.RouteTarget {
                switch route.target {
                case .local: return .local
                case .internetGateway: return .internetGateway
                case .gatewayLoadBalancerEndpoint(let endpoint): return .gatewayLoadBalancerEndpoint(endpoint.index)
                case .gatewayEndpoint(let endpoint):
                    guard case .gateway(let list) = self[endpoint].service else { return .local }
                    return .gatewayEndpoint(port: port(.serviceNetwork(prefixList: list.index))!)
                }
            }
            // Prefix-list routes first: a CIDR route with the same prefix wins
            // (docs/aws-behaviour.md §7).
            for route in table.routes {
                if case .prefixList(let list) = route.destination {
                    for cidr in self[list].cidrs { compiled.add(cidr, target(route)) }
                }
            }
            for route in table.routes {
                switch route.destination {
                case .ipv4(let prefix): compiled.add(prefix, target(route))
                case .ipv6(let prefix): compiled.add(prefix, target(route))
                case .prefixList: break
                }
            }
            return compiled
        }

        let compiledGroups = securityGroups.map { group in
            func rule(_ rule: SecurityGroupRule) -> ForwardingTables.SecurityGroup.Rule {
                let proto: IPProtocol?
                switch rule.protocolMatch {
                case .all: proto = nil
                case .tcp: proto = .tcp
                case .udp: proto = .udp
                case .icmp: proto = .icmp
                case .icmpv6: proto = .icmpv6
                }
                let peer: ForwardingTables.SecurityGroup.Rule.Peer
                switch rule.peer {
                case .ipv4(let prefix): peer = .ipv4(prefix)
                case .ipv6(let prefix): peer = .ipv6(prefix)
                case .securityGroup(let group): peer = .securityGroup(group.index)
                case .prefixList(let list): peer = .prefixList(self[list].cidrs)
                }
                return ForwardingTables.SecurityGroup.Rule(proto: proto, ports: rule.ports, peer: peer)
            }
            return ForwardingTables.SecurityGroup(ingress: group.ingress.map(rule), egress: group.egress.map(rule))
        }

        let compiledEndpoints = endpoints.map { endpoint -> ForwardingTables.Endpoint in
            var balancer: Int?
            if case .endpointService(let service) = endpoint.service {
                let candidates = self[service].loadBalancers
                // One NLB per endpoint, picked once and kept (docs/aws-behaviour.md §4: at random
                // at the first connection; here by a hash of the endpoint ID, so replays agree).
                if !candidates.isEmpty {
                    balancer = candidates[Int(Names.stableHash("nlb", endpoint.id) % UInt64(candidates.count))].index
                }
            }
            guard endpoint.kind == .gatewayLoadBalancer else {
                return ForwardingTables.Endpoint(id: endpoint.id, state: ForwardingTables.EndpointState(endpoint.state),
                                                 loadBalancer: balancer)
            }
            return ForwardingTables.Endpoint(id: endpoint.id, state: ForwardingTables.EndpointState(endpoint.state),
                                             loadBalancer: balancer, interface: endpoint.interfaces.first?.index,
                                             tunnelOptions: endpoint.tunnelOptions)
        }

        var targets: [ForwardingTables.Target] = []
        var compiledTargetGroups: [ForwardingTables.TargetGroup] = []
        for (groupIndex, group) in targetGroups.enumerated() {
            let balancer = loadBalancers.first { $0.listeners.contains { $0.targetGroup.index == groupIndex } }
            let crossZone: Bool
            switch group.crossZone {
            case .enabled: crossZone = true
            case .disabled: crossZone = false
            case .useLoadBalancerConfiguration: crossZone = balancer?.crossZone ?? false
            }
            var indices: [Int] = []
            for target in group.targets {
                indices.append(targets.count)
                let host = self[target.host]
                targets.append(ForwardingTables.Target(
                    interface: target.interface.index, port: target.port, zone: target.zone.index, targetGroup: groupIndex,
                    stableKey: Names.stableHash("target", group.name, host.name, String(target.port)),
                    name: "\(host.name):\(target.port)"))
            }
            let stickiness: ForwardingTables.TargetGroup.Stickiness = switch group.stickiness {
            case .fiveTuple: .fiveTuple
            case .threeTuple: .threeTuple
            case .twoTuple: .twoTuple
            }
            compiledTargetGroups.append(ForwardingTables.TargetGroup(name: group.name, crossZone: crossZone,
                                                                connectionTermination: group.connectionTermination,
                                                                targets: indices, stickiness: stickiness,
                                                                rebalance: group.targetFailover == .rebalance,
                                                                proxyProtocol: group.proxyProtocolV2, ipv6Targets: group.ipv6Targets,
                                                                preserveClientIp: group.preserveClientIp))
        }

        let compiledBalancers = loadBalancers.map { balancer in
            ForwardingTables.LoadBalancer(
                name: balancer.name,
                nodes: balancer.nodes.map { ForwardingTables.LoadBalancer.Node(zone: $0.zone.index, interface: $0.interface.index) },
                listeners: balancer.listeners.map {
                    ForwardingTables.LoadBalancer.Listener(port: $0.port, targetGroup: $0.targetGroup.index,
                                                           idleTimeout: Int64($0.idleTimeout) * DataplaneConfiguration.second,
                                                           resetsUnknownFlows: $0.sendTcpResetOnIdleTimeout,
                                                           takesTCP: ["TCP", "TLS", "TCP_UDP"].contains($0.protocolName),
                                                           takesUDP: ["UDP", "TCP_UDP"].contains($0.protocolName))
                },
                isGateway: balancer.kind == .gateway)
        }

        return ForwardingTables(
            ports: ports, interfaces: interfaces, vpcs: compiledVPCs, subnetRouteTables: subnets.map(\.routeTable.index),
            routeTables: compiledRouteTables, securityGroups: compiledGroups, endpoints: compiledEndpoints,
            loadBalancers: compiledBalancers, targetGroups: compiledTargetGroups, targets: targets, zoneNames: zones.map(\.name),
            portMap: portMap(ports: ports))
    }

    /// The hosts outside every VPC, and the service networks' ports with their prefixes.
    private func portMap(ports: [ForwardingTables.Port]) -> PortMap {
        var outside: [OutsideHost] = []
        for host in hosts {
            guard case .external(let network, let ipv4, let ipv6) = host.placement else { continue }
            let addresses = [ipv4.map { FlowAddress($0) }, ipv6.map { FlowAddress($0) }].compactMap { $0 }
            if network == "internet" {
                outside.append(OutsideHost(name: host.name, network: .internet, addresses: addresses))
            } else if let list = prefixLists.firstIndex(where: { $0.name == network }) {
                outside.append(OutsideHost(name: host.name, network: .service(prefixList: list), addresses: addresses))
            }
        }
        var services: [(port: Int, prefixList: Int, blocks: [IPv4Prefix])] = []
        for (index, port) in ports.enumerated() {
            if case .serviceNetwork(let list) = port.kind { services.append((index, list, prefixLists[list].cidrs)) }
        }
        return PortMap(outsideHosts: outside, serviceNetworks: services)
    }
}

extension Endpoint {
    /// What a GWLB endpoint's traffic carries in AWS's GENEVE options (docs/aws-behaviour.md §6):
    /// the endpoint ID's 17 hex digits as a number (the low 64 bits, which are all of it when the
    /// first digit is 0, as in every ID AWS shows and every one Privet makes), and an attachment
    /// ID, which AWS does not document: a stable number derived from the endpoint's ID.
    public var tunnelOptions: (endpointID: UInt64, attachmentID: UInt64) {
        let digits = id.hasPrefix("vpce-") ? String(id.dropFirst(5).suffix(16)) : ""
        return (UInt64(digits, radix: 16) ?? Names.stableHash("endpoint", id), Names.stableHash("gwlb-attachment", id))
    }
}

extension ForwardingTables.EndpointState {
    init(_ state: ConnectionState) {
        switch state {
        case .available: self = .available
        case .pendingAcceptance: self = .pendingAcceptance
        case .pending: self = .pending
        case .rejected: self = .rejected
        case .expired: self = .expired
        case .failed: self = .failed
        case .deleting: self = .deleting
        case .deleted: self = .deleted
        }
    }
}
