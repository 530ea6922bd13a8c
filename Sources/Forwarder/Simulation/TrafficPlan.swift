import Topology

/// What the clients of a topology do when left to themselves (`privet gen`): each connection
/// goes from a client (a VPC host without a server) to something it can reach: a service through
/// an interface endpoint of its VPC (by the endpoint's private DNS name, or its regional name),
/// an AWS service through a gateway endpoint of its route table, a server on the internet its
/// routes lead to, or a server of its own VPC.
public enum TrafficPlan {
    public struct Destination: Equatable, Sendable {
        public var name: String
        public var port: UInt16
        public var transport: SimulatedConnection.Transport
    }

    /// What `client` can talk to.
    public static func destinations(for client: String, in topology: Topology) -> [Destination] {
        guard let host = topology.hosts.first(where: { $0.name == client }), case .vpc(let eni) = host.placement else { return [] }
        let subnet = topology[topology[eni].subnet]
        var found: [Destination] = []
        for endpoint in topology.endpoints where endpoint.vpc == subnet.vpc && endpoint.kind == .interface {
            guard case .endpointService(let service) = endpoint.service,
                  let balancer = topology[service].loadBalancers.first,
                  let listener = topology[balancer].listeners.first else { continue }
            found.append(Destination(name: endpoint.privateDnsName ?? endpoint.dnsNames.first?.name ?? "", port: listener.port,
                                     transport: .tcp))
        }
        for endpoint in topology.endpoints where endpoint.kind == .gateway && endpoint.routeTables.contains(subnet.routeTable) {
            guard case .gateway(let list) = endpoint.service else { continue }
            for other in topology.hosts {
                if case .external(let network, let ipv4, _) = other.placement, network == topology[list].name,
                   let ipv4, let server = other.server {
                    found.append(Destination(name: ipv4.description, port: server.port, transport: server.kind == .udpEcho ? .udp : .tcp))
                }
            }
        }
        // Servers on the internet, where the route table's longest match for them leads out:
        // straight to the internet gateway, or through a GWLB endpoint's inspection.
        for other in topology.hosts {
            guard case .external("internet", let ipv4?, _) = other.placement, let server = other.server else { continue }
            let best = topology[subnet.routeTable].routes.compactMap { route -> (Int, Route.Target)? in
                guard case .ipv4(let prefix) = route.destination, prefix.contains(ipv4) else { return nil }
                return (prefix.length, route.target)
            }.max { $0.0 < $1.0 }
            switch best?.1 {
            case .internetGateway?, .gatewayLoadBalancerEndpoint?:
                found.append(Destination(name: ipv4.description, port: server.port, transport: server.kind == .udpEcho ? .udp : .tcp))
            default:
                continue
            }
        }
        for other in topology.hosts where other.name != client {
            guard case .vpc(let otherENI) = other.placement, topology[topology[otherENI].subnet].vpc == subnet.vpc,
                  let server = other.server, let address = topology[otherENI].ipv4 else { continue }
            found.append(Destination(name: address.description, port: server.port, transport: server.kind == .udpEcho ? .udp : .tcp))
        }
        return found
    }

    /// `count` connections, one every `interval` seconds, from clients in turn to destinations
    /// picked by the seed, asking for responses of 200 to 3000 bytes.
    public static func connections(count: Int, in topology: Topology, seed: UInt64, interval: Double = 0.001) -> [SimulatedConnection] {
        let clients = topology.hosts.filter { host in
            if case .vpc = host.placement { return host.server == nil }
            return false
        }.map(\.name)
        let reachable = clients.map { destinations(for: $0, in: topology) }
        var random = SimulationRandom(seed: seed)
        var plan: [SimulatedConnection] = []
        guard !clients.isEmpty else { return [] }
        for index in 0..<count {
            let which = index % clients.count
            guard !reachable[which].isEmpty else { continue }
            let destination = reachable[which][random.below(reachable[which].count)]
            var connection = SimulatedConnection(client: clients[which], destination: destination.name, port: destination.port,
                                                 start: Double(index) * interval)
            connection.transport = destination.transport
            connection.responseBytes = 200 + random.below(2800)
            connection.preferIPv6 = random.below(4) == 0
            plan.append(connection)
        }
        return plan
    }
}
