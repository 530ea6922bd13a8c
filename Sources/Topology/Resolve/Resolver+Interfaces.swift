import PacketWire

// Hosts and the network interfaces (ENIs) of hosts, load balancer nodes and endpoints, with
// their addresses: designated ones checked, the rest allocated in file order.

extension Resolver {
    mutating func resolveHosts() {
        for (index, host) in spec.hosts.enumerated() {
            let subject = "host '\(host.name.value)'"
            let server = host.server.map { self.server($0, of: subject) }
            if let subnetReference = host.subnet {
                guard let subnet = subnets.find(subnetReference, from: subject, log: log) else {
                    topology.hosts.append(Host(name: host.name.value, placement: .vpc(placeholder()), server: server))
                    continue
                }
                var ipv4: Located<String>?
                var ipv6: Located<String>?
                for address in host.addresses {
                    if address.value.contains(":") {
                        if ipv6 != nil { log.error(address.location, "\(subject) has more than one IPv6 address; Privet gives a host one of each family") }
                        ipv6 = address
                    } else {
                        if ipv4 != nil { log.error(address.location, "\(subject) has more than one IPv4 address; Privet gives a host one of each family") }
                        ipv4 = address
                    }
                }
                let vpc = topology.subnets[subnet].vpc.index
                let interface = addInterface(
                    subnet: subnet, owner: .host(Ref(index)), idName: "host/\(host.name.value)", ipv4: ipv4, ipv6: ipv6,
                    securityGroups: securityGroups(host.securityGroups, vpc: vpc, for: subject),
                    sourceDestCheck: host.sourceDestCheck, requesterManaged: false, what: subject, location: host.name.location)
                topology.hosts.append(Host(name: host.name.value, placement: .vpc(interface), server: server,
                                           givenInstanceID: host.id.map { resourceID($0, prefix: "i", kind: "instance", name: host.name.value) }))
            } else {
                if let id = host.id { log.error(id.location, "\(subject) is outside every VPC: only an instance in a VPC has an ID") }
                topology.hosts.append(externalHost(host, subject: subject, server: server))
            }
        }
    }

    /// A host's server; an appliance's rules checked.
    func server(_ spec: ServerSpec, of subject: String) -> Host.Server {
        let kind = Host.ServerKind(rawValue: spec.kind.value) ?? .http
        func rules(_ texts: [Located<String>]) -> [ApplianceRule] {
            if kind != .appliance, let first = texts.first {
                log.error(first.location, "the server of \(subject) is '\(spec.kind.value)'; only an appliance has drop and count rules")
                return []
            }
            return texts.compactMap { text in
                guard let rule = ApplianceRule(text.value) else {
                    log.error(text.location, "'\(text.value)' is not an appliance rule; use \(ApplianceRule.forms)")
                    return nil
                }
                return rule
            }
        }
        return Host.Server(kind: kind, port: UInt16(spec.port.value), drops: rules(spec.drop), counts: rules(spec.count))
    }

    /// A host outside every VPC: on the internet, or in an AWS service's network, where its
    /// addresses must fall in the service's prefix list.
    func externalHost(_ host: HostSpec, subject: String, server: Host.Server?) -> Host {
        let network = host.network ?? Located("internet", at: host.name.location)
        var ipv4: IPv4Address?
        var ipv6: IPv6Address?
        for address in host.addresses {
            if let value = IPv4Address(address.value) { ipv4 = value }
            else if let value = IPv6Address(address.value) { ipv6 = value }
            else { log.error(address.location, "'\(address.value)' of \(subject) is not an IP address") }
        }
        if host.addresses.isEmpty {
            log.error(host.name.location, "\(subject) is outside every VPC and needs its 'addresses'")
        }
        if !host.securityGroups.isEmpty {
            log.error(host.securityGroups[0].location, "\(subject) is outside every VPC; security groups belong to VPC interfaces")
        }
        if network.value != "internet" {
            if let list = topology.prefixLists.firstIndex(where: { $0.name == network.value }) {
                let cidrs = topology.prefixLists[list].cidrs
                if let ipv4, !cidrs.contains(where: { $0.contains(ipv4) }) {
                    log.error(host.addresses[0].location, "\(subject) is in the network of '\(network.value)', but \(ipv4) is in none of the CIDR blocks of its prefix list \(topology.prefixLists[list].id)")
                }
            } else {
                let hint = suggestion(for: network.value, among: ["internet"] + topology.prefixLists.map(\.name))
                    .map { "; did you mean '\($0)'?" } ?? ""
                log.error(network.location, "\(subject): network '\(network.value)' is neither 'internet' nor the service name of a prefix list\(hint)")
            }
        }
        return Host(name: host.name.value, placement: .external(network: network.value, ipv4: ipv4, ipv6: ipv6), server: server)
    }

    /// Adds an ENI in `subnet`. Designated addresses are checked now; missing ones are allocated
    /// by `allocateAddresses` once every designated address is known.
    mutating func addInterface(
        subnet: Int, owner: NetworkInterface.Owner, idName: String, ipv4: Located<String>?, ipv6: Located<String>?,
        securityGroups: [Ref<SecurityGroup>], sourceDestCheck: Bool, requesterManaged: Bool,
        what: String, location: FilePosition, wantIPv4: Bool = true, wantIPv6: Bool = true
    ) -> Ref<NetworkInterface> {
        let index = topology.networkInterfaces.count
        let subnetModel = topology.subnets[subnet]
        var address4: IPv4Address?
        var address6: IPv6Address?
        if let ipv4 {
            address4 = claim(ipv4: ipv4, in: subnet, by: what)
        }
        if let ipv6 {
            address6 = claim(ipv6: ipv6, in: subnet, by: what)
        }
        let allocate4 = address4 == nil && ipv4 == nil && wantIPv4 && subnetModel.cidr != nil
        let allocate6 = address6 == nil && ipv6 == nil && wantIPv6 && subnetModel.ipv6Cidr != nil
        if allocate4 || allocate6 {
            pendingAllocations.append((index, allocate4, allocate6, what, location))
        }
        var endpointENI = false
        if case .endpoint = owner { endpointENI = true }
        topology.networkInterfaces.append(NetworkInterface(
            id: Names.resourceID("eni", kind: "network interface", name: idName), subnet: Ref(subnet), owner: owner,
            ipv4: address4, ipv6: address6, securityGroups: securityGroups, sourceDestCheck: sourceDestCheck,
            requesterManaged: requesterManaged, denyAllIgwTraffic: endpointENI))
        return Ref(index)
    }

    /// Checks a designated IPv4 address: inside the subnet, not one AWS reserves, not taken.
    mutating func claim(ipv4 text: Located<String>, in subnet: Int, by what: String) -> IPv4Address? {
        let subnetModel = topology.subnets[subnet]
        guard !subnetsWithBadBlocks.contains(subnet) else { return nil }
        guard let address = IPv4Address(text.value) else {
            log.error(text.location, "'\(text.value)' of \(what) is not an IPv4 address")
            return nil
        }
        guard let cidr = subnetModel.cidr else {
            log.error(text.location, "\(what) has IPv4 address \(address), but subnet '\(subnetModel.name)' has no IPv4 block")
            return nil
        }
        guard cidr.contains(address) else {
            log.error(text.location, "\(what): \(address) is outside subnet '\(subnetModel.name)' (\(cidr))")
            return nil
        }
        let offset = UInt64(address.value - cidr.network.value)
        if let reason = Resolver.reservedIPv4(offset: offset, size: cidr.size) {
            log.error(text.location, "\(what): \(address) is reserved by AWS in subnet '\(subnetModel.name)' (\(reason))")
            return nil
        }
        if let owner = claimedIPv4[subnet]?[address] {
            log.error(text.location, "\(what): \(address) is taken twice; it is already the address of \(owner)")
            return nil
        }
        claimedIPv4[subnet, default: [:]][address] = what
        return address
    }

    mutating func claim(ipv6 text: Located<String>, in subnet: Int, by what: String) -> IPv6Address? {
        let subnetModel = topology.subnets[subnet]
        guard !subnetsWithBadBlocks.contains(subnet) else { return nil }
        guard let address = IPv6Address(text.value) else {
            log.error(text.location, "'\(text.value)' of \(what) is not an IPv6 address")
            return nil
        }
        guard let cidr = subnetModel.ipv6Cidr else {
            log.error(text.location, "\(what) has IPv6 address \(address), but subnet '\(subnetModel.name)' has no IPv6 block")
            return nil
        }
        guard cidr.contains(address) else {
            log.error(text.location, "\(what): \(address) is outside subnet '\(subnetModel.name)' (\(cidr))")
            return nil
        }
        if address.high == cidr.network.high && address.low - cidr.network.low < 4 || address == cidr.last {
            log.error(text.location, "\(what): \(address) is reserved by AWS in subnet '\(subnetModel.name)' (the first four and the last address of a block)")
            return nil
        }
        if let owner = claimedIPv6[subnet]?[address] {
            log.error(text.location, "\(what): \(address) is taken twice; it is already the address of \(owner)")
            return nil
        }
        claimedIPv6[subnet, default: [:]][address] = what
        return address
    }

    /// Why AWS reserves the address at `offset` of a block of `size`, or nil: the network
    /// address, the VPC router (+1), the DNS server (+2), one for future use (+3), broadcast.
    static func reservedIPv4(offset: UInt64, size: UInt64) -> String? {
        switch offset {
        case 0: return "the network address"
        case 1: return "the VPC router"
        case 2: return "the Amazon DNS server"
        case 3: return "reserved for future use"
        case size - 1: return "the broadcast address"
        default: return nil
        }
    }

    /// Gives every ENI still without an address the lowest free one of its subnet.
    mutating func allocateAddresses() {
        for pending in pendingAllocations {
            let interface = topology.networkInterfaces[pending.interface]
            let subnet = interface.subnet.index
            let subnetModel = topology.subnets[subnet]
            guard !subnetsWithBadBlocks.contains(subnet) else { continue }
            if pending.ipv4, let cidr = subnetModel.cidr {
                let taken = claimedIPv4[subnet] ?? [:]
                if let offset = (4..<(cidr.size - 1)).first(where: { taken[cidr.address(at: $0)] == nil }) {
                    let address = cidr.address(at: offset)
                    claimedIPv4[subnet, default: [:]][address] = pending.what
                    topology.networkInterfaces[pending.interface].ipv4 = address
                } else {
                    log.error(pending.location, "subnet '\(subnetModel.name)' (\(cidr)) has no free IPv4 address left for \(pending.what)")
                }
            }
            if pending.ipv6, let cidr = subnetModel.ipv6Cidr {
                let taken = claimedIPv6[subnet] ?? [:]
                var offset: UInt64 = 4
                while taken[cidr.address(at: offset)] != nil { offset += 1 }
                let address = cidr.address(at: offset)
                claimedIPv6[subnet, default: [:]][address] = pending.what
                topology.networkInterfaces[pending.interface].ipv6 = address
            }
        }
    }
}
