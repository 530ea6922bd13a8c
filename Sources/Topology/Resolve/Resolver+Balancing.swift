import PacketWire

// Network and Gateway Load Balancers, their listeners, and target groups with their health
// checks (defaults and ranges from docs/aws-behaviour.md §2 and §6).

extension Resolver {
    mutating func resolveLoadBalancers() {
        for (index, balancer) in spec.loadBalancers.enumerated() {
            let subject = "load balancer '\(balancer.name.value)'"
            let kind = LoadBalancer.Kind(rawValue: balancer.type.value) ?? .network
            var vpc: Int?
            var nodes: [LoadBalancer.Node] = []
            var zonesSeen: [Int: String] = [:]
            let dualstack = balancer.ipAddressType?.value == "dualstack"
            if balancer.subnets.isEmpty {
                log.error(balancer.name.location, "\(subject) needs at least one subnet")
            }
            for reference in balancer.subnets {
                guard let subnet = subnets.find(reference, from: subject, log: log) else { continue }
                let model = topology.subnets[subnet]
                if let vpc, vpc != model.vpc.index {
                    log.error(reference.location, "\(subject): subnet '\(model.name)' is in VPC '\(topology.vpcs[model.vpc.index].name)', not in VPC '\(topology.vpcs[vpc].name)' like its first subnet")
                    continue
                }
                vpc = model.vpc.index
                if let other = zonesSeen[model.zone.index] {
                    log.error(reference.location, "\(subject) has two subnets in zone \(topology.zones[model.zone.index].name): '\(other)' and '\(model.name)'; a load balancer has one subnet per zone")
                    continue
                }
                zonesSeen[model.zone.index] = model.name
                if dualstack && model.ipv6Cidr == nil {
                    log.error(reference.location, "\(subject) is dualstack, but subnet '\(model.name)' has no IPv6 block")
                }
                let interface = addInterface(
                    subnet: subnet, owner: .loadBalancer(Ref(index)), idName: "lb/\(balancer.name.value)/\(model.name)",
                    ipv4: nil, ipv6: nil, securityGroups: [], sourceDestCheck: true, requesterManaged: true,
                    what: "the node of \(subject) in subnet '\(model.name)'", location: reference.location, wantIPv6: dualstack)
                nodes.append(LoadBalancer.Node(zone: model.zone, subnet: Ref(subnet), interface: interface))
            }
            var groups: [Ref<SecurityGroup>] = []
            if kind == .gateway, let first = balancer.securityGroups.first {
                log.error(first.location, "\(subject) is a Gateway Load Balancer; those have no security groups")
            } else if let vpc, !balancer.securityGroups.isEmpty {
                groups = securityGroups(balancer.securityGroups, vpc: vpc, for: subject)
            }
            for node in nodes {
                topology.networkInterfaces[node.interface.index].securityGroups = groups
            }
            let listeners = balancer.listeners.compactMap { listener($0, kind: kind, of: subject) }
            if kind == .gateway && balancer.listeners.count != 1 {
                log.error(balancer.name.location, "\(subject) is a Gateway Load Balancer: it has exactly one listener, not \(balancer.listeners.count)")
            }
            var seenPorts: [String: FilePosition] = [:]
            for (listener, written) in zip(listeners, balancer.listeners) where kind == .network {
                let key = "\(listener.protocolName)/\(listener.port)"
                if let first = seenPorts[key] {
                    log.error(written.location, "\(subject) has two \(listener.protocolName) listeners on port \(listener.port) (the first at line \(first.line))")
                }
                seenPorts[key] = written.location
            }
            let suffix = Names.hex(Names.stableHash("elb", balancer.name.value), digits: 16)
            topology.loadBalancers.append(LoadBalancer(
                name: balancer.name.value, kind: kind, vpc: vpc.map(Ref.init) ?? placeholder(), nodes: nodes,
                crossZone: balancer.crossZone?.value ?? false, dualstack: dualstack, securityGroups: groups,
                listeners: listeners, dnsName: "\(balancer.name.value)-\(suffix).elb.\(spec.region.value).amazonaws.com"))
        }
    }

    func listener(_ listener: ListenerSpec, kind: LoadBalancer.Kind, of subject: String) -> LoadBalancer.Listener? {
        guard let group = targetGroups.find(listener.targetGroup, from: "a listener of \(subject)", log: log) else { return nil }
        let groupSpec = spec.targetGroups[group]
        switch kind {
        case .gateway:
            // A GWLB listener takes all IP packets on all ports (docs/aws-behaviour.md §6).
            if let protocolName = listener.protocolName {
                log.error(protocolName.location, "the listener of \(subject) is a Gateway Load Balancer listener: it takes every IP packet and has no protocol or port")
            } else if let port = listener.port {
                log.error(port.location, "the listener of \(subject) is a Gateway Load Balancer listener: it takes every IP packet and has no protocol or port")
            }
            if groupSpec.protocolName.value != "GENEVE" {
                log.error(listener.targetGroup.location, "\(subject) is a Gateway Load Balancer; its target group '\(groupSpec.name.value)' must use protocol GENEVE, not \(groupSpec.protocolName.value)")
            }
            // The TCP idle timeout can be changed only with 5-tuple stickiness (§6).
            if let timeout = listener.idleTimeout, let stickiness = groupSpec.stickiness, stickiness.value != .fiveTuple {
                log.error(timeout.location, "'idleTimeout' of the listener of \(subject): target group '\(groupSpec.name.value)' has \(stickiness.value.rawValue) stickiness, and a GWLB's TCP idle timeout can be changed only with 5-tuple stickiness (it stays 350 s)")
            }
            return LoadBalancer.Listener(protocolName: "GENEVE", port: 6081, targetGroup: Ref(group),
                                         idleTimeout: listener.idleTimeout?.value ?? 350,
                                         sendTcpResetOnIdleTimeout: listener.sendTcpResetOnIdleTimeout?.value ?? false)
        case .network:
            // The parser reported a missing or invalid protocol or port already.
            guard let protocolName = listener.protocolName, let port = listener.port else { return nil }
            // Which target-group protocols each NLB listener protocol forwards to.
            let compatible: [String: [String]] = ["TCP": ["TCP", "TCP_UDP"], "UDP": ["UDP", "TCP_UDP"],
                                                  "TCP_UDP": ["TCP_UDP"], "TLS": ["TCP", "TLS"]]
            if !(compatible[protocolName.value] ?? []).contains(groupSpec.protocolName.value) {
                log.error(listener.targetGroup.location, "a \(protocolName.value) listener of \(subject) cannot forward to target group '\(groupSpec.name.value)' of protocol \(groupSpec.protocolName.value)")
            }
            if let reset = listener.sendTcpResetOnIdleTimeout {
                log.error(reset.location, "'sendTcpResetOnIdleTimeout' is a Gateway Load Balancer listener attribute; \(subject) is a Network Load Balancer, which always resets")
            }
            if let timeout = listener.idleTimeout, protocolName.value != "TCP" {
                log.error(timeout.location, "'idleTimeout' of a \(protocolName.value) listener of \(subject): only TCP listeners have a configurable idle timeout (TLS is fixed at 350 s, UDP at 120 s)")
            }
            let fixed = protocolName.value == "UDP" ? 120 : 350
            return LoadBalancer.Listener(protocolName: protocolName.value, port: UInt16(port.value), targetGroup: Ref(group),
                                         idleTimeout: listener.idleTimeout?.value ?? fixed)
        }
    }

    mutating func resolveTargetGroups() {
        // Which load balancer uses each group: a target group serves one load balancer.
        var usedBy: [Int: Int] = [:]
        for (balancerIndex, balancer) in topology.loadBalancers.enumerated() {
            for (listener, written) in zip(balancer.listeners, spec.loadBalancers[balancerIndex].listeners) {
                if let other = usedBy[listener.targetGroup.index], other != balancerIndex {
                    log.error(written.targetGroup.location, "target group '\(written.targetGroup.value)' is already used by load balancer '\(topology.loadBalancers[other].name)'; a target group serves one load balancer")
                }
                usedBy[listener.targetGroup.index] = balancerIndex
            }
        }
        for (index, group) in spec.targetGroups.enumerated() {
            let subject = "target group '\(group.name.value)'"
            let geneve = group.protocolName.value == "GENEVE"
            var port = group.port?.value ?? 0
            if geneve {
                if let given = group.port, given.value != 6081 {
                    log.error(given.location, "\(subject) uses GENEVE, whose port is 6081, not \(given.value)")
                }
                port = 6081
            } else if group.port == nil {
                log.error(group.name.location, "\(subject) needs 'port'")
            }
            let balancer = usedBy[index].map { topology.loadBalancers[$0] }
            if balancer == nil {
                log.warning(group.name.location, "\(subject) is used by no listener: its targets get no traffic and no health checks")
            }
            var vpc = balancer?.vpc.index
            var targets: [TargetGroup.Target] = []
            for target in group.targets {
                guard let hostIndex = hosts.find(target.host, from: subject, log: log) else { continue }
                guard case .vpc(let interface) = topology.hosts[hostIndex].placement else {
                    log.error(target.host.location, "\(subject): host '\(target.host.value)' is outside every VPC and cannot be a target")
                    continue
                }
                let subnet = topology.subnets[topology.networkInterfaces[interface.index].subnet.index]
                if let vpc, subnet.vpc.index != vpc {
                    let owner = balancer.map { "load balancer '\($0.name)'" } ?? "its first target"
                    log.error(target.host.location, "\(subject): target '\(target.host.value)' is in VPC '\(topology.vpcs[subnet.vpc.index].name)', not in a subnet of the VPC of \(owner) ('\(topology.vpcs[vpc].name)')")
                    continue
                }
                vpc = subnet.vpc.index
                if geneve && topology.hosts[hostIndex].server?.kind != .appliance {
                    log.warning(target.host.location, "\(subject): host '\(target.host.value)' runs no appliance (server: {protocol: appliance, port: 80}); what the GWLB sends it comes back only if something there answers GENEVE")
                }
                targets.append(TargetGroup.Target(host: Ref(hostIndex), interface: interface,
                                                  port: UInt16(target.port?.value ?? port), zone: subnet.zone))
            }
            if !geneve, let first = group.stickiness?.location ?? group.targetFailover?.location {
                log.error(first, "\(subject): stickiness and target failover are Gateway Load Balancer settings; this group uses \(group.protocolName.value)")
            }
            let attributes = networkAttributes(group, balancer: balancer, targets: targets, of: subject)
            topology.targetGroups.append(TargetGroup(
                name: group.name.value, protocolName: group.protocolName.value, port: UInt16(port), vpc: vpc.map(Ref.init),
                targets: targets, healthCheck: healthCheck(group, geneve: geneve, of: subject),
                deregistrationDelay: group.deregistrationDelay?.value ?? 300,
                connectionTermination: group.connectionTermination?.value ?? true,
                crossZone: TargetGroup.CrossZone(rawValue: group.crossZone?.value ?? "") ?? .useLoadBalancerConfiguration,
                stickiness: group.stickiness?.value ?? .fiveTuple, targetFailover: group.targetFailover?.value ?? .noRebalance,
                proxyProtocolV2: attributes.proxyProtocolV2, ipv6Targets: attributes.ipv6Targets, targetType: attributes.targetType,
                preserveClientIp: attributes.preserveClientIp))
        }
    }

    /// A group's attributes for an NLB's flows, checked as AWS checks them (docs/aws-behaviour.md
    /// §2, §3): Proxy Protocol v2 on TCP and TLS groups; IPv6 targets behind a dualstack NLB, each
    /// with an IPv6 address; client IP preservation by default for instance targets and for
    /// UDP, and always for UDP and TCP_UDP IP targets.
    func networkAttributes(_ group: TargetGroupSpec, balancer: LoadBalancer?, targets: [TargetGroup.Target], of subject: String)
        -> (proxyProtocolV2: Bool, ipv6Targets: Bool, targetType: TargetGroup.TargetType, preserveClientIp: Bool) {
        let protocolName = group.protocolName.value
        let proxy = group.proxyProtocolV2?.value ?? false
        if proxy, let written = group.proxyProtocolV2, !["TCP", "TLS"].contains(protocolName) {
            log.error(written.location, "\(subject): Proxy Protocol v2 is for TCP and TLS target groups, not \(protocolName)")
        }
        let ipv6 = group.ipAddressType?.value == "ipv6"
        if ipv6, let written = group.ipAddressType {
            if protocolName == "GENEVE" {
                log.error(written.location, "\(subject): a GENEVE target group's appliances are reached over IPv4")
            } else if let balancer, !balancer.dualstack {
                log.error(written.location, "\(subject) has IPv6 targets, but load balancer '\(balancer.name)' is not dualstack: it cannot reach them")
            }
            for target in targets where topology.networkInterfaces[target.interface.index].ipv6 == nil
                && topology.subnets[topology.networkInterfaces[target.interface.index].subnet.index].ipv6Cidr == nil {
                log.error(written.location, "\(subject) has IPv6 targets, but '\(topology.hosts[target.host.index].name)' has no IPv6 address")
            }
        }
        let type = TargetGroup.TargetType(rawValue: group.targetType?.value ?? "instance") ?? .instance
        let udp = protocolName == "UDP" || protocolName == "TCP_UDP"
        var preserve = type == .instance || udp
        if let written = group.preserveClientIp {
            if type == .ip && udp && !written.value {
                log.error(written.location, "\(subject): client IP preservation cannot be turned off for IP targets over \(protocolName)")
            } else {
                preserve = written.value
            }
        }
        return (proxy, ipv6, type, preserve)
    }

    /// AWS's defaults for the group's kind, overridden by what the file says, each value checked
    /// against AWS's range.
    func healthCheck(_ group: TargetGroupSpec, geneve: Bool, of subject: String) -> TargetGroup.HealthCheck {
        let written = group.healthCheck
        let protocolName = written?.protocolName?.value ?? "TCP"
        let http = protocolName != "TCP"
        var check = TargetGroup.HealthCheck(
            protocolName: protocolName, port: geneve ? 80 : nil, path: http ? "/" : nil,
            interval: geneve ? 10 : 30, timeout: geneve ? 5 : (protocolName == "HTTP" ? 6 : 10),
            healthyThreshold: 5, unhealthyThreshold: 2)
        guard let written else { return check }
        let what = "the health check of \(subject)"
        if let port = written.port, port.value != "traffic-port" {
            if let number = UInt16(port.value), number >= 1 { check.port = number }
            else { log.error(port.location, "'port' of \(what) must be a port (1 to 65535) or 'traffic-port', not '\(port.value)'") }
        } else if written.port?.value == "traffic-port" {
            check.port = nil
        }
        if let path = written.path {
            if !http { log.error(path.location, "'path' of \(what): only HTTP and HTTPS health checks have a path") }
            else if !path.value.hasPrefix("/") { log.error(path.location, "'path' of \(what) must start with '/'") }
            else { check.path = path.value }
        }
        func ranged(_ value: Located<Int>?, _ field: String, _ range: ClosedRange<Int>) -> Int? {
            guard let value else { return nil }
            guard range.contains(value.value) else {
                log.error(value.location, "'\(field)' of \(what) is \(value.value); AWS allows \(range.lowerBound) to \(range.upperBound)")
                return nil
            }
            return value.value
        }
        check.interval = ranged(written.interval, "interval", 5...300) ?? check.interval
        check.timeout = ranged(written.timeout, "timeout", 2...120) ?? check.timeout
        check.healthyThreshold = ranged(written.healthyThreshold, "healthyThreshold", 2...10) ?? check.healthyThreshold
        check.unhealthyThreshold = ranged(written.unhealthyThreshold, "unhealthyThreshold", 2...10) ?? check.unhealthyThreshold
        return check
    }
}
