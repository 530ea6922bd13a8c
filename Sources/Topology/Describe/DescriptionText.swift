extension TopologyDescription {
    /// The text a person reads: one section per kind, indented details.
    public var text: String {
        var lines: [String] = []
        func add(_ line: String = "") { lines.append(line) }
        add("Region \(region); zones " + zones.map { "\($0.name) (\($0.id))" }.joined(separator: ", "))
        add()
        add("Endpoint services")
        for service in endpointServices {
            add("  \(service.name)  \(service.id)  \(service.state)")
            add("    service name  \(service.serviceName)")
            add("    type \(service.type), account \(service.account), acceptance \(service.acceptanceRequired ? "required" : "automatic"), IP types \(service.supportedIpAddressTypes.joined(separator: ", "))")
            add("    allowed principals  " + (service.allowedPrincipals.isEmpty ? "none" : service.allowedPrincipals.joined(separator: ", ")))
            if let name = service.privateDnsName { add("    private DNS name  \(name) (\(service.privateDnsNameVerification ?? ""))") }
            add("    load balancers  " + service.loadBalancers.joined(separator: ", "))
            add("    DNS name  \(service.dnsName)")
        }
        add()
        add("Endpoints")
        for endpoint in endpoints {
            add("  \(endpoint.name)  \(endpoint.id)  \(endpoint.type)  \(endpoint.state)")
            add("    VPC \(endpoint.vpc) (\(endpoint.vpcId)), service \(endpoint.service): \(endpoint.serviceName)")
            if let type = endpoint.ipAddressType {
                add("    IP address type \(type)" + (endpoint.dnsRecordIpType.map { ", DNS record IP type \($0)" } ?? ""))
            }
            if let principal = endpoint.principal { add("    principal  \(principal)") }
            if !endpoint.securityGroups.isEmpty { add("    security groups  " + endpoint.securityGroups.joined(separator: ", ")) }
            for eni in endpoint.interfaces {
                let addresses = [eni.ipv4, eni.ipv6].compactMap { $0 }.joined(separator: "  ")
                add("    ENI \(eni.zone) (\(eni.zoneId))  \(eni.id)  \(addresses)  subnet \(eni.subnet)")
            }
            for name in endpoint.dnsNames { add("    DNS \(name.scope): \(name.name)") }
            if !endpoint.routeTables.isEmpty { add("    route tables  " + endpoint.routeTables.joined(separator: ", ")) }
        }
        add()
        add("Load balancers")
        for balancer in loadBalancers {
            add("  \(balancer.name)  \(balancer.type)  VPC \(balancer.vpc)  cross-zone \(balancer.crossZone ? "on" : "off")  \(balancer.ipAddressType)")
            add("    DNS name  \(balancer.dnsName)")
            for listener in balancer.listeners {
                add("    listener \(listener.protocol) \(listener.port) -> \(listener.targetGroup) (idle timeout \(listener.idleTimeoutSeconds) s)")
            }
            for node in balancer.nodes {
                let addresses = [node.ipv4, node.ipv6].compactMap { $0 }.joined(separator: "  ")
                let targets = node.targets.isEmpty ? "no targets"
                    : node.targets.map { "\($0.host) \($0.address):\($0.port)" }.joined(separator: ", ")
                add("    node \(node.zone) (\(node.zoneId))  \(addresses)  targets: \(targets)")
            }
        }
        add()
        add("Route tables")
        for table in routeTables {
            let associations = table.subnets.isEmpty ? "no subnets" : table.subnets.joined(separator: ", ")
            add("  \(table.name)  \(table.id)  VPC \(table.vpc)\(table.main ? " (main)" : "")  \(associations)")
            for route in table.routes { add("    \(route.destination) -> \(route.target)") }
        }
        add()
        add("VPCs and hosts")
        for vpc in vpcs {
            let ipv6 = vpc.ipv6Cidr.map { " \($0)" } ?? ""
            let gateway = vpc.internetGateway.map { ", internet gateway \($0)" } ?? ""
            add("  \(vpc.name)  \(vpc.id)  \(vpc.cidr)\(ipv6)  account \(vpc.account), resolver \(vpc.resolver)\(gateway)")
            for host in vpc.hosts { add("    " + hostLine(host)) }
        }
        if !externalHosts.isEmpty {
            add("  outside the VPCs")
            for host in externalHosts { add("    " + hostLine(host)) }
        }
        add()
        add("Network interfaces (as flow-log records name them)")
        for eni in networkInterfaces {
            let addresses = [eni.ipv4, eni.ipv6].compactMap { $0 }.joined(separator: "  ")
            let groups = eni.securityGroups.isEmpty ? "" : "  groups " + eni.securityGroups.joined(separator: ", ")
            let instance = eni.instance.map { " (\($0))" } ?? ""
            add("  \(eni.id)  \(eni.owner)\(instance)  account \(eni.account)  subnet \(eni.subnet) (\(eni.zone))  \(addresses)\(groups)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func hostLine(_ host: HostView) -> String {
        let addresses = [host.ipv4, host.ipv6].compactMap { $0 }.joined(separator: "  ")
        return "\(host.name)  \(host.placement)  \(addresses)" + (host.server.map { "  server \($0)" } ?? "")
    }
}
