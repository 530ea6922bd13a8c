extension TopologyDescription {
    /// A Mermaid flowchart: VPCs as subgraphs with their zones inside, hosts and endpoint ENIs in
    /// their zones; endpoints lead to services, services to load balancers, load balancers to
    /// targets.
    public var mermaid: String {
        var lines = ["flowchart LR"]
        func node(_ kind: String, _ name: String) -> String {
            kind + "_" + String(name.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        }
        func label(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "'") + "\"" }

        let topology = self.topologyForDiagram
        for (vpcIndex, vpc) in topology.vpcs.enumerated() {
            lines.append("  subgraph \(node("vpc", vpc.name))[\(label("VPC \(vpc.name) \(vpc.cidr)"))]")
            for (zoneIndex, zone) in topology.zones.enumerated() {
                var members: [String] = []
                for (interfaceIndex, eni) in topology.networkInterfaces.enumerated() {
                    let subnet = topology[eni.subnet]
                    guard subnet.vpc.index == vpcIndex, subnet.zone.index == zoneIndex else { continue }
                    let address = eni.ipv4?.description ?? eni.ipv6?.description ?? ""
                    switch eni.owner {
                    case .host(let host):
                        members.append("\(node("host", topology[host].name))[\(label("\(topology[host].name) \(address)"))]")
                    case .endpoint(let endpoint):
                        members.append("\(node("eni", "\(interfaceIndex)"))[\(label("\(topology[endpoint].name) ENI \(address)"))]")
                    case .loadBalancer(let balancer):
                        members.append("\(node("eni", "\(interfaceIndex)"))[\(label("\(topology[balancer].name) node \(address)"))]")
                    }
                }
                guard !members.isEmpty else { continue }
                lines.append("    subgraph \(node("zone", "\(vpc.name)_\(zone.name)"))[\(label(zone.name))]")
                lines += members.map { "      " + $0 }
                lines.append("    end")
            }
            lines.append("  end")
        }
        for host in topology.hosts {
            if case .external(let network, let ipv4, let ipv6) = host.placement {
                let address = ipv4?.description ?? ipv6?.description ?? ""
                lines.append("  \(node("host", host.name))[\(label("\(host.name) (\(network)) \(address)"))]")
            }
        }
        for service in topology.endpointServices {
            lines.append("  \(node("svc", service.name)){{\(label("\(service.name) \(service.id)"))}}")
            for balancer in service.loadBalancers {
                lines.append("  \(node("svc", service.name)) --> \(node("lb", topology[balancer].name))")
            }
        }
        for balancer in topology.loadBalancers {
            lines.append("  \(node("lb", balancer.name))([\(label("\(balancer.name) \(balancer.kind.rawValue)"))])")
            for node_ in balancer.nodes { lines.append("  \(node("lb", balancer.name)) --- \(node("eni", "\(node_.interface.index)"))") }
            for listener in balancer.listeners {
                for target in topology[listener.targetGroup].targets {
                    lines.append("  \(node("lb", balancer.name)) -->|\(listener.protocolName) \(target.port)| \(node("host", topology[target.host].name))")
                }
            }
        }
        for endpoint in topology.endpoints {
            guard case .endpointService(let service) = endpoint.service else { continue }
            let arrow = endpoint.state.carriesTraffic ? "-->" : "-.->"
            let state = endpoint.state.carriesTraffic ? "" : "|\(endpoint.state.rawValue)|"
            for interface in endpoint.interfaces {
                lines.append("  \(node("eni", "\(interface.index)")) \(arrow)\(state) \(node("svc", topology[service].name))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
