import Topology

/// What `privet up` prints: the namespaces it made, their addresses, the names to use, and how
/// to reach the services.
public enum LiveReport {
    public static func text(_ topology: Topology, name: String) -> String {
        var lines = ["Topology '\(name)' is up:"]
        for host in topology.hosts {
            let namespace = LiveNetwork.namespaceName(topology: name, host: host.name)
            var addresses: [String] = []
            var place = ""
            switch host.placement {
            case .vpc(let interface):
                let eni = topology[interface]
                addresses = [eni.ipv4?.description, eni.ipv6?.description].compactMap { $0 }
                let subnet = topology[eni.subnet]
                place = "\(topology[subnet.vpc].name)/\(subnet.name), resolver \(topology[subnet.vpc].resolver)"
            case .external(let network, let ipv4, let ipv6):
                addresses = [ipv4?.description, ipv6?.description].compactMap { $0 }
                place = network
            }
            let server = host.server.map { ", serving \($0.kind.rawValue) on \($0.port)" } ?? ""
            lines.append("  \(namespace.padding(toLength: 34, withPad: " ", startingAt: 0)) \(addresses.joined(separator: " "))  (\(place)\(server))")
        }
        for endpoint in topology.endpoints where endpoint.kind == .interface && endpoint.state == .available {
            guard let client = topology.hosts.first(where: { host in
                if case .vpc(let eni) = host.placement { return topology[topology[eni].subnet].vpc == endpoint.vpc && host.server == nil }
                return false
            }) else { continue }
            let namespace = LiveNetwork.namespaceName(topology: name, host: client.name)
            let target = endpoint.privateDnsName ?? endpoint.dnsNames.first?.name ?? ""
            var port = ""
            if case .endpointService(let service) = endpoint.service, let balancer = topology[service].loadBalancers.first,
               let listener = topology[balancer].listeners.first, listener.port != 80 {
                port = ":\(listener.port)"
            }
            lines.append("Reach \(endpoint.name) from \(client.name):")
            lines.append("  ip netns exec \(namespace) curl http://\(target)\(port)/")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
