import Yams

/// Reads a YAML document into a `TopologySpec`, field by field, reporting every problem of form
/// (missing, unknown, wrong kind of value) rather than stopping at the first.
struct SpecParser {
    let log: DiagnosticLog

    func parse(_ root: Node) -> TopologySpec? {
        guard var top = MappingReader(root, subject: "the topology", log: log) else { return nil }
        let region = top.string("region", required: true)
            ?? Located("", at: top.location)
        var spec = TopologySpec(region: region)
        spec.zones = items(&top, "zones", "zone") { reader in
            guard let name = reader.string("name", required: true), let id = reader.string("id", required: true) else { return nil }
            return ZoneSpec(name: name, id: id)
        }
        spec.accounts = items(&top, "accounts", "account") { reader in
            guard let name = reader.string("name", required: true), let id = reader.string("id", required: true) else { return nil }
            return AccountSpec(name: name, id: id)
        }
        spec.vpcs = items(&top, "vpcs", "vpc") { reader in vpc(&reader) }
        spec.subnets = items(&top, "subnets", "subnet") { reader in
            guard let name = reader.string("name", required: true), let vpc = reader.string("vpc", required: true),
                  let zone = reader.string("zone", required: true) else { return nil }
            var subnet = SubnetSpec(name: name, id: reader.string("id"), vpc: vpc, zone: zone, cidr: reader.string("cidr"),
                                    ipv6Cidr: reader.string("ipv6Cidr"), routeTable: reader.string("routeTable"))
            subnet.tags = reader.tags()
            if subnet.cidr == nil && subnet.ipv6Cidr == nil {
                log.error(reader.location, "\(reader.subject) needs 'cidr', 'ipv6Cidr' or both")
            }
            return subnet
        }
        spec.routeTables = items(&top, "routeTables", "route table") { reader in
            guard let name = reader.string("name", required: true), let vpc = reader.string("vpc", required: true) else { return nil }
            var table = RouteTableSpec(name: name, id: reader.string("id"), vpc: vpc)
            table.tags = reader.tags()
            table.routes = items(&reader, "routes", "route", of: "route table '\(name.value)'") { route in
                guard let destination = route.string("destination", required: true),
                      let target = route.string("target", required: true) else { return nil }
                return RouteSpec(location: route.location, destination: destination, target: target)
            }
            return table
        }
        spec.prefixLists = items(&top, "prefixLists", "prefix list") { reader in
            guard let id = reader.string("id", required: true), let name = reader.string("name", required: true) else { return nil }
            return PrefixListSpec(id: id, name: name, cidrs: reader.strings("cidrs", required: true))
        }
        spec.securityGroups = items(&top, "securityGroups", "security group") { reader in
            guard let name = reader.string("name", required: true), let vpc = reader.string("vpc", required: true) else { return nil }
            var group = SecurityGroupSpec(name: name, id: reader.string("id"), vpc: vpc)
            group.tags = reader.tags()
            group.ingress = items(&reader, "ingress", "ingress rule", of: "security group '\(name.value)'") { rule(&$0) }
            if reader.has("egress") {
                group.egress = items(&reader, "egress", "egress rule", of: "security group '\(name.value)'") { rule(&$0) }
            } else {
                _ = reader.node("egress")
            }
            return group
        }
        spec.hosts = items(&top, "hosts", "host") { reader in host(&reader) }
        spec.loadBalancers = items(&top, "loadBalancers", "load balancer") { reader in loadBalancer(&reader) }
        spec.targetGroups = items(&top, "targetGroups", "target group") { reader in targetGroup(&reader) }
        spec.endpointServices = items(&top, "endpointServices", "endpoint service") { reader in endpointService(&reader) }
        spec.endpoints = items(&top, "endpoints", "endpoint") { reader in endpoint(&reader) }
        spec.hostedZones = items(&top, "hostedZones", "hosted zone") { reader in hostedZone(&reader) }
        top.finish()
        return spec
    }

    /// Reads each item of the list `key` of `parent` as a mapping. Items are named in messages by
    /// their `name` (or `id`) when they have one, else by position.
    private func items<T>(
        _ parent: inout MappingReader, _ key: String, _ kind: String, of owner: String? = nil,
        _ read: (inout MappingReader) -> T?
    ) -> [T] {
        let suffix = owner.map { " of \($0)" } ?? ""
        return parent.list(key).enumerated().compactMap { index, node in
            var subject = "\(kind) \(index + 1)\(suffix)"
            if case .mapping(let mapping) = node {
                for field in ["name", "id"] {
                    if let value = mapping[field]?.scalar?.string {
                        subject = "\(kind) '\(value)'\(suffix)"
                        break
                    }
                }
            }
            guard var reader = MappingReader(node, subject: subject, log: log) else { return nil }
            let value = read(&reader)
            reader.finish()
            return value
        }
    }

    private func vpc(_ reader: inout MappingReader) -> VPCSpec? {
        guard let name = reader.string("name", required: true), let cidr = reader.string("cidr", required: true) else { return nil }
        var vpc = VPCSpec(name: name, id: reader.string("id"), account: reader.string("account"), cidr: cidr,
                          ipv6Cidr: reader.string("ipv6Cidr"))
        vpc.tags = reader.tags()
        vpc.enableDnsSupport = reader.bool("enableDnsSupport")?.value ?? true
        vpc.enableDnsHostnames = reader.bool("enableDnsHostnames")?.value ?? true
        if let node = reader.node("internetGateway") {
            if case .scalar(let scalar) = node {
                if scalar.string == "true" {
                    vpc.internetGateway = InternetGatewaySpec(location: node.location)
                } else if scalar.string != "false" {
                    log.error(node.location, "'internetGateway' of \(reader.subject) must be true, false or a mapping, not '\(scalar.string)'")
                }
            } else if var gateway = MappingReader(node, subject: "the internet gateway of \(reader.subject)", log: log) {
                vpc.internetGateway = InternetGatewaySpec(location: node.location, id: gateway.string("id"),
                                                          edgeRouteTable: gateway.string("edgeRouteTable"))
                gateway.finish()
            }
        }
        return vpc
    }

    private func rule(_ reader: inout MappingReader) -> RuleSpec? {
        guard let protocolName = reader.choice("protocol", ["tcp", "udp", "icmp", "icmpv6", "all"], required: true) else {
            return nil
        }
        let rule = RuleSpec(location: reader.location, protocolName: protocolName, ports: reader.string("ports"),
                            cidr: reader.string("cidr"), securityGroup: reader.string("securityGroup"),
                            prefixList: reader.string("prefixList"))
        let peers = [rule.cidr, rule.securityGroup, rule.prefixList].compactMap { $0 }.count
        if peers != 1 {
            log.error(reader.location, "\(reader.subject) needs exactly one of 'cidr', 'securityGroup', 'prefixList'")
        }
        return rule
    }

    private func host(_ reader: inout MappingReader) -> HostSpec? {
        guard let name = reader.string("name", required: true) else { return nil }
        var host = HostSpec(name: name, subnet: reader.string("subnet"), network: reader.string("network"))
        host.id = reader.string("id")
        if (host.subnet == nil) == (host.network == nil) {
            log.error(reader.location, "\(reader.subject) needs exactly one of 'subnet' (a host in a VPC) or 'network' (outside: 'internet' or an AWS service name)")
        }
        host.addresses = reader.strings("addresses")
        host.securityGroups = reader.strings("securityGroups")
        host.sourceDestCheck = reader.bool("sourceDestCheck")?.value ?? true
        if let node = reader.node("server"), var server = MappingReader(node, subject: "the server of \(reader.subject)", log: log) {
            if let kind = server.choice("protocol", ["http", "tcp-echo", "udp-echo", "appliance"], required: true),
               let port = server.int("port", in: 1...65535, required: true) {
                host.server = ServerSpec(location: node.location, kind: kind, port: port, drop: server.strings("drop"),
                                         count: server.strings("count"))
            }
            server.finish()
        }
        return host
    }

    private func loadBalancer(_ reader: inout MappingReader) -> LoadBalancerSpec? {
        guard let name = reader.string("name", required: true),
              let type = reader.choice("type", ["network", "gateway"], required: true) else { return nil }
        var balancer = LoadBalancerSpec(name: name, type: type, subnets: reader.strings("subnets", required: true))
        balancer.crossZone = reader.bool("crossZone")
        balancer.ipAddressType = reader.choice("ipAddressType", ["ipv4", "dualstack"])
        balancer.securityGroups = reader.strings("securityGroups")
        balancer.listeners = items(&reader, "listeners", "listener", of: "load balancer '\(name.value)'") { listener in
            guard let targetGroup = listener.string("targetGroup", required: true) else { return nil }
            // A Network Load Balancer listener has a protocol and a port; a GWLB listener has neither.
            let network = type.value == "network"
            return ListenerSpec(location: listener.location,
                                protocolName: listener.choice("protocol", ["TCP", "UDP", "TCP_UDP", "TLS"], required: network),
                                port: listener.int("port", in: 1...65535, required: network), targetGroup: targetGroup,
                                idleTimeout: listener.int("idleTimeout", in: 60...6000),
                                sendTcpResetOnIdleTimeout: listener.bool("sendTcpResetOnIdleTimeout"))
        }
        return balancer
    }

    private func targetGroup(_ reader: inout MappingReader) -> TargetGroupSpec? {
        guard let name = reader.string("name", required: true),
              let protocolName = reader.choice("protocol", ["TCP", "UDP", "TCP_UDP", "TLS", "GENEVE"], required: true) else {
            return nil
        }
        var group = TargetGroupSpec(name: name, protocolName: protocolName, port: reader.int("port", in: 1...65535))
        group.targets = items(&reader, "targets", "target", of: "target group '\(name.value)'") { target in
            guard let host = target.string("host", required: true) else { return nil }
            return TargetSpec(location: target.location, host: host, port: target.int("port", in: 1...65535))
        }
        if let node = reader.node("healthCheck"),
           var check = MappingReader(node, subject: "the health check of target group '\(name.value)'", log: log) {
            group.healthCheck = HealthCheckSpec(
                location: node.location, protocolName: check.choice("protocol", ["TCP", "HTTP", "HTTPS"]),
                port: check.string("port"), path: check.string("path"),
                interval: check.int("interval", in: Int.min...Int.max), timeout: check.int("timeout", in: Int.min...Int.max),
                healthyThreshold: check.int("healthyThreshold", in: Int.min...Int.max),
                unhealthyThreshold: check.int("unhealthyThreshold", in: Int.min...Int.max))
            check.finish()
        }
        group.deregistrationDelay = reader.int("deregistrationDelay", in: 0...3600)
        group.connectionTermination = reader.bool("connectionTermination")
        group.crossZone = reader.choice("crossZone", ["true", "false", "use_load_balancer_configuration"])
        group.stickiness = reader.choice("stickiness", as: GatewayStickiness.self)
        group.targetFailover = reader.choice("targetFailover", as: TargetFailover.self)
        group.proxyProtocolV2 = reader.bool("proxyProtocolV2")
        group.ipAddressType = reader.choice("ipAddressType", ["ipv4", "ipv6"])
        group.targetType = reader.choice("targetType", ["instance", "ip"])
        group.preserveClientIp = reader.bool("preserveClientIp")
        return group
    }

    private func endpointService(_ reader: inout MappingReader) -> EndpointServiceSpec? {
        guard let name = reader.string("name", required: true) else { return nil }
        var service = EndpointServiceSpec(name: name, id: reader.string("id"), account: reader.string("account"),
                                          loadBalancers: reader.strings("loadBalancers", required: true))
        service.tags = reader.tags()
        service.acceptanceRequired = reader.bool("acceptanceRequired")?.value ?? true
        service.allowedPrincipals = reader.strings("allowedPrincipals")
        service.privateDnsName = reader.string("privateDnsName")
        service.privateDnsNameVerification = reader.choice("privateDnsNameVerification", ["pendingVerification", "verified", "failed"])
        service.supportedIpAddressTypes = reader.strings("supportedIpAddressTypes")
        service.supportedRegions = reader.strings("supportedRegions")
        return service
    }

    private func endpoint(_ reader: inout MappingReader) -> EndpointSpec? {
        guard let name = reader.string("name", required: true),
              let type = reader.choice("type", ["Interface", "GatewayLoadBalancer", "Gateway"], required: true),
              let vpc = reader.string("vpc", required: true) else { return nil }
        var endpoint = EndpointSpec(name: name, id: reader.string("id"), type: type, vpc: vpc,
                                    service: reader.string("service"), serviceName: reader.string("serviceName"))
        if (endpoint.service == nil) == (endpoint.serviceName == nil) {
            log.error(reader.location, "\(reader.subject) needs exactly one of 'service' (a service in this file) or 'serviceName'")
        }
        for node in reader.list("subnets") {
            if case .scalar(let scalar) = node {
                endpoint.subnets.append(SubnetConfigurationSpec(subnet: Located(scalar.string, at: node.location)))
            } else if var configuration = MappingReader(node, subject: "a subnet of \(reader.subject)", log: log) {
                if let subnet = configuration.string("subnet", required: true) {
                    endpoint.subnets.append(SubnetConfigurationSpec(subnet: subnet, ipv4: configuration.string("ipv4"),
                                                                    ipv6: configuration.string("ipv6")))
                }
                configuration.finish()
            }
        }
        endpoint.tags = reader.tags()
        endpoint.securityGroups = reader.strings("securityGroups")
        endpoint.privateDnsEnabled = reader.bool("privateDnsEnabled")
        endpoint.ipAddressType = reader.choice("ipAddressType", ["ipv4", "dualstack", "ipv6"])
        endpoint.dnsRecordIpType = reader.choice("dnsRecordIpType", ["ipv4", "dualstack", "ipv6", "service-defined"])
        endpoint.principal = reader.string("principal")
        endpoint.decision = reader.choice("decision", ["accepted", "rejected", "none"])
        endpoint.routeTables = reader.strings("routeTables")
        return endpoint
    }

    private func hostedZone(_ reader: inout MappingReader) -> HostedZoneSpec? {
        guard let name = reader.string("name", required: true) else { return nil }
        var zone = HostedZoneSpec(name: name, isPrivate: reader.bool("private")?.value ?? false)
        zone.vpcs = reader.strings("vpcs")
        zone.records = items(&reader, "records", "record", of: "hosted zone '\(name.value)'") { record in
            guard let recordName = record.string("name", required: true),
                  let type = record.choice("type", ["A", "AAAA", "CNAME", "TXT"], required: true) else { return nil }
            return RecordSpec(location: record.location, name: recordName, type: type,
                              ttl: record.int("ttl", in: 0...2_147_483_647), values: record.strings("values", required: true))
        }
        return zone
    }
}
