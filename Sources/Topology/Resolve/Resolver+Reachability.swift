import Dataplane
import PacketWire

// What a valid file can still get wrong: a topology that carries no traffic. Asked of the
// compiled tables with the packet path's own security-group rules (Dataplane/SecurityCheck.swift),
// once the file has no errors, and reported as warnings where the fix belongs:
// - a target whose security groups admit no node of its load balancer: every connection through
//   the load balancer and every health check is dropped at the target (docs/aws-behaviour.md §2:
//   through an endpoint the target sees the node's address);
// - an interface endpoint whose security groups admit no host of its VPC on any listener port
//   (or whose hosts' egress rules let nothing out to it);
// - a client whose subnet's route table has no route to a gateway endpoint of its VPC: its
//   traffic to that AWS service does not cross the endpoint.

extension Resolver {
    mutating func checkReachability() {
        let tables = topology.forwardingTables()
        checkTargetsAdmitNodes(tables)
        checkEndpointsAdmitConsumers(tables)
        checkClientsRouteToGatewayEndpoints()
    }

    /// The IP protocols a listener or target group of `protocolName` carries.
    private static func protocols(_ protocolName: String) -> [IPProtocol] {
        switch protocolName {
        case "UDP": return [.udp]
        case "TCP_UDP": return [.tcp, .udp]
        default: return [.tcp]
        }
    }

    private func checkTargetsAdmitNodes(_ tables: ForwardingTables) {
        for balancer in topology.loadBalancers where balancer.kind == .network {
            var checked: Set<Int> = []
            for listener in balancer.listeners where checked.insert(listener.targetGroup.index).inserted {
                let group = topology.targetGroups[listener.targetGroup.index]
                let protocols = Resolver.protocols(group.protocolName)
                for (targetIndex, target) in group.targets.enumerated() {
                    let admitted = balancer.nodes.contains { node in
                        protocols.contains { proto in
                            tables.admits(target.interface.index, ingress: true, peer: node.interface.index, proto: proto,
                                          port: target.port, ipv6: group.ipv6Targets)
                        }
                    }
                    guard !admitted else { continue }
                    let host = topology.hosts[target.host.index].name
                    let groups = securityGroupNames(of: target.interface)
                    let nodes = balancer.nodes.compactMap { node -> String? in
                        let eni = topology.networkInterfaces[node.interface.index]
                        return (group.ipv6Targets ? eni.ipv6?.description : eni.ipv4?.description)
                    }
                    log.warning(spec.targetGroups[listener.targetGroup.index].targets[targetIndex].host.location,
                                "target group '\(group.name)': target '\(host)' admits no node of load balancer "
                                + "'\(balancer.name)': its security groups (\(groups)) allow \(group.protocolName) "
                                + "\(target.port) from none of \(nodes.joined(separator: ", ")); every connection "
                                + "through the load balancer and every health check is dropped there")
                }
            }
        }
    }

    private func checkEndpointsAdmitConsumers(_ tables: ForwardingTables) {
        for (endpointIndex, endpoint) in topology.endpoints.enumerated() where endpoint.kind == .interface {
            guard case .endpointService(let service) = endpoint.service else { continue }
            let consumers = topology.hosts.compactMap { host -> Ref<NetworkInterface>? in
                guard case .vpc(let eni) = host.placement, host.server == nil,
                      topology.subnets[topology.networkInterfaces[eni.index].subnet.index].vpc.index == endpoint.vpc.index
                else { return nil }
                return eni
            }
            guard !consumers.isEmpty else { continue }
            let listeners = topology.endpointServices[service.index].loadBalancers.flatMap { topology.loadBalancers[$0.index].listeners }
            let admitted = endpoint.interfaces.contains { eni in
                consumers.contains { consumer in
                    listeners.contains { listener in
                        Resolver.protocols(listener.protocolName).contains { proto in
                            [false, true].contains { ipv6 in
                                tables.admits(consumer.index, ingress: false, peer: eni.index, proto: proto, port: listener.port, ipv6: ipv6)
                                    && tables.admits(eni.index, ingress: true, peer: consumer.index, proto: proto,
                                                     port: listener.port, ipv6: ipv6)
                            }
                        }
                    }
                }
            }
            guard !admitted, let first = endpoint.interfaces.first else { continue }
            let ports = Set(listeners.map { "\($0.protocolName) \($0.port)" }).sorted().joined(separator: ", ")
            log.warning(spec.endpoints[endpointIndex].name.location,
                        "endpoint '\(endpoint.name)' admits no consumer: its security groups (\(securityGroupNames(of: first))) "
                        + "with the egress rules of the hosts of its VPC let none of them reach it on \(ports)")
        }
    }

    private func checkClientsRouteToGatewayEndpoints() {
        for (hostIndex, host) in topology.hosts.enumerated() where host.server == nil {
            guard case .vpc(let eni) = host.placement else { continue }
            let subnet = topology.subnets[topology.networkInterfaces[eni.index].subnet.index]
            for endpoint in topology.endpoints where endpoint.kind == .gateway && endpoint.vpc.index == subnet.vpc.index
            && !endpoint.routeTables.contains(where: { $0.index == subnet.routeTable.index }) {
                log.warning(spec.hosts[hostIndex].name.location,
                            "host '\(host.name)': route table '\(topology.routeTables[subnet.routeTable.index].name)' of its "
                            + "subnet '\(subnet.name)' is not associated with gateway endpoint '\(endpoint.name)' "
                            + "(\(endpoint.serviceName)); its traffic to that service does not cross the endpoint")
            }
        }
    }

    private func securityGroupNames(of interface: Ref<NetworkInterface>) -> String {
        topology.networkInterfaces[interface.index].securityGroups
            .map { "\(topology.securityGroups[$0.index].id) (\(topology.securityGroups[$0.index].name))" }
            .joined(separator: ", ")
    }
}
