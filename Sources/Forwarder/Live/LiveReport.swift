import Dataplane
import PacketWire
import Topology

/// What `privet up` prints: the namespaces it made, their addresses, the names to use, and how
/// to reach the services.
public enum LiveReport {
    public static func text(_ topology: Topology, name: String) -> String {
        var lines = ["Topology '\(name)' is up:"]
        for host in topology.hosts {
            let namespace = LiveNetwork.namespaceName(topology: name, host: host.name)
            let addresses = topology.addresses(of: host)
            var place = LiveReport.place(of: host, in: topology)
            if case .vpc(let interface) = host.placement {
                place += ", resolver \(topology[topology[topology[interface].subnet].vpc].resolver)"
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

extension LiveReport {
    /// How tunnelled super-packets go into the appliances' devices, for a topology with a GWLB.
    public static func tunnelOffload(_ topology: Topology, network: LiveNetwork) -> String {
        guard topology.loadBalancers.contains(where: { $0.kind == .gateway }), network.offloads else { return "" }
        let into = network.udpSegmentationOffload
            ? "a super-packet's segments go to an appliance as super-datagrams (UDP segmentation offload)"
            : "one datagram a write to the appliances (this kernel takes no UDP segmentation offload before 6.2)"
        let back = network.readsUDPSuperDatagrams
            ? "an appliance's super-datagrams (UDP_SEGMENT) are read whole"
            : "an appliance's datagrams are read one at a time (the devices take no TUN_F_USO)"
        return "GWLB tunnels: \(into); \(back)\n"
    }

    /// Where a host is: its VPC and subnet (`consumer/consumer-app-a`), or the outside network.
    static func place(of host: Host, in topology: Topology) -> String {
        switch host.placement {
        case .vpc(let interface):
            let subnet = topology[topology[interface].subnet]
            return "\(topology[subnet.vpc].name)/\(subnet.name)"
        case .external(let network, _, _):
            return network
        }
    }

    /// What `up` says when it stops: packets forwarded and dropped (by reason), resolver answers,
    /// health probes.
    public static func summary(_ network: LiveNetwork) -> String {
        let counters = network.counters
        let forwarded = counters.ports.reduce(0) { $0 + $1.packetsOut }
        var lines = ["\(forwarded) packets forwarded, \(counters.totalDrops) dropped, "
                     + "\(counters.sessionsCreated) sessions; resolver answered \(network.resolverAnswered) "
                     + "(\(network.resolverMalformed) malformed); \(network.checker.probesSent) health probes"]
        for reason in DropReason.allCases where counters.drops(reason) > 0 {
            lines.append("  dropped \(reason.name): \(counters.drops(reason))")
        }
        if network.unroutable > 0 { lines.append("  unroutable outside the fabric: \(network.unroutable)") }
        if network.tunnelSegmentations > 0 {
            lines.append("  cut into segments for a GWLB tunnel: \(network.tunnelSegmentations) super-packets, \(network.tunnelSegments) segments"
                         + (network.tunnelSuperDatagrams > 0 ? ", written as \(network.tunnelSuperDatagrams) super-datagrams" : ""))
        }
        if counters.sessionsEvicted > 0 {
            lines.append("  closed or half-open sessions ended to make room for new flows: \(counters.sessionsEvicted)")
        }
        if counters.flowsRebalanced > 0 { lines.append("  GWLB flows moved off unhealthy appliances: \(counters.flowsRebalanced)") }
        if network.superDatagramsRead > 0 { lines.append("  UDP super-datagrams read and cut apart: \(network.superDatagramsRead)") }
        if network.tunnelMerges > 0 { lines.append("  merged out of a GWLB tunnel: \(network.tunnelMerges) super-packets") }
        if network.workerCount > 1 {
            lines.append("  \(network.workerCount) workers: \(network.handedOff) packets handed to the worker owning their flow"
                         + (network.handoffRingFull > 0 ? ", \(network.handoffRingFull) dropped on a full handoff ring" : ""))
        }
        if counters.sessionsAwayFromOwner > 0 {
            lines.append("  sessions whose replies another worker owns (a preserved client's port below the service's): \(counters.sessionsAwayFromOwner)")
        }
        if network.queueFull > 0 { lines.append("  refused by a TUN device (queue full): \(network.queueFull)") }
        if network.deviceErrors > 0 {
            lines.append("  failed reads and writes of TUN devices: \(network.deviceErrors) (last: \(network.lastDeviceError.map(String.init(describing:)) ?? "?"))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Topology {
    /// A host's addresses, IPv4 first.
    func addresses(of host: Host) -> [String] {
        switch host.placement {
        case .vpc(let interface):
            return [self[interface].ipv4?.description, self[interface].ipv6?.description].compactMap { $0 }
        case .external(_, let ipv4, let ipv6):
            return [ipv4?.description, ipv6?.description].compactMap { $0 }
        }
    }
}

extension Topology {
    /// The zone of the ENI that owns `address`, if any.
    func zoneOf(address: IPv4Address) -> Int? {
        networkInterfaces.first { $0.ipv4 == address }.map { self[$0.subnet].zone.index }
    }

    func zoneOf(host: Host) -> Int? {
        guard case .vpc(let eni) = host.placement else { return nil }
        return self[self[eni].subnet].zone.index
    }
}
