import Topology

/// The Elastic Load Balancing v2 actions of the subset (API version 2015-12-01): responses in
/// ELBv2's XML (lists of `member`, inside `...Result`), load balancers and target groups named
/// by ARN, instance targets by their hosts' instance IDs.
enum ELBv2Actions {
    static let names: Set<String> = [
        "DescribeLoadBalancers", "DescribeListeners", "DescribeTargetGroups", "DescribeTargetHealth",
        "RegisterTargets", "DeregisterTargets", "DescribeTargetGroupAttributes", "ModifyTargetGroupAttributes",
        "DescribeLoadBalancerAttributes", "ModifyLoadBalancerAttributes",
    ]

    typealias Outcome = Result<(inout XMLWriter) -> Void, APIError>

    static func run(_ action: String, _ context: inout ActionContext) -> Outcome {
        do {
            switch action {
            case "DescribeLoadBalancers": return .success(try loadBalancers(context))
            case "DescribeListeners": return .success(try listeners(context))
            case "DescribeTargetGroups": return .success(try targetGroups(context))
            case "DescribeTargetHealth": return .success(try targetHealth(context))
            case "DescribeTargetGroupAttributes": return .success(try targetGroupAttributes(context))
            case "ModifyTargetGroupAttributes": return .success(try modifyTargetGroupAttributes(&context))
            case "DescribeLoadBalancerAttributes": return .success(try loadBalancerAttributes(context))
            case "ModifyLoadBalancerAttributes": return .success(try modifyLoadBalancerAttributes(&context))
            case "RegisterTargets": return .success(try register(true, &context))
            case "DeregisterTargets": return .success(try register(false, &context))
            default: return .failure(APIError(.unsupportedOperation, "Privet does not implement the ELBv2 action \(action)"))
            }
        } catch {
            return .failure(error)
        }
    }

    private static func page<Element>(_ all: [Element], _ context: ActionContext) throws(APIError) -> Page<Element> {
        try Page(all, size: context.request.parameters["PageSize"], token: context.request.parameters["Marker"],
                 smallest: 1, largest: 400)
    }

    static func balancer(arn: String, _ topology: Topology) throws(APIError) -> Ref<LoadBalancer> {
        guard let index = topology.loadBalancers.indices.first(where: { topology.arn(of: Ref<LoadBalancer>($0)) == arn }) else {
            throw APIError(.loadBalancerNotFound, "Load balancer '\(arn)' not found")
        }
        return Ref(index)
    }

    static func group(arn: String, _ topology: Topology) throws(APIError) -> Ref<TargetGroup> {
        guard let index = topology.targetGroups.indices.first(where: { topology.arn(of: Ref<TargetGroup>($0)) == arn }) else {
            throw APIError(.targetGroupNotFound, "Target groups '\(arn)' not found")
        }
        return Ref(index)
    }

    // MARK: Reads

    static func loadBalancers(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let arns = context.request.list("LoadBalancerArns", member: "member"), names = context.request.list("Names", member: "member")
        var chosen = topology.loadBalancers.indices.map { Ref<LoadBalancer>($0) }
        if !arns.isEmpty {
            chosen = []
            for arn in arns { chosen.append(try balancer(arn: arn, topology)) }
        }
        if !names.isEmpty {
            for name in names where !topology.loadBalancers.contains(where: { $0.name == name }) {
                throw APIError(.loadBalancerNotFound, "Load balancers '[\(name)]' not found")
            }
            chosen = chosen.filter { names.contains(topology[$0].name) }
        }
        let page = try page(chosen, context)
        let created = context.creationTime
        return { xml in
            xml.list("LoadBalancers", member: "member", page.elements) { xml, ref in
                let balancer = topology[ref]
                xml.value("LoadBalancerArn", topology.arn(of: ref))
                xml.value("DNSName", balancer.dnsName)
                xml.value("CreatedTime", created)
                xml.value("LoadBalancerName", balancer.name)
                xml.value("Scheme", "internal")
                xml.value("VpcId", topology[balancer.vpc].id)
                xml.element("State") { $0.value("Code", "active") }
                xml.value("Type", balancer.kind.rawValue)
                xml.list("AvailabilityZones", member: "member", balancer.nodes) { xml, node in
                    let interface = topology[node.interface]
                    xml.value("ZoneName", topology[node.zone].name)
                    xml.value("SubnetId", topology[node.subnet].id)
                    xml.list("LoadBalancerAddresses", member: "member", [interface]) { xml, interface in
                        xml.value("PrivateIPv4Address", interface.ipv4.map { "\($0)" })
                        xml.value("IPv6Address", interface.ipv6.map { "\($0)" })
                    }
                }
                xml.strings("SecurityGroups", member: "member", balancer.securityGroups.map { topology[$0].id })
                xml.value("IpAddressType", balancer.dualstack ? "dualstack" : "ipv4")
            }
            xml.value("NextMarker", page.next)
        }
    }

    static func listeners(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        guard let arn = context.request.parameters["LoadBalancerArn"] else {
            throw APIError(.validationError, "A load balancer ARN or listener ARNs must be specified")
        }
        let ref = try balancer(arn: arn, topology)
        let listeners = topology[ref].listeners
        let page = try page(Array(listeners.indices), context)
        return { xml in
            xml.list("Listeners", member: "member", page.elements) { xml, index in
                let listener = listeners[index]
                let balancerARN = topology.arn(of: ref)
                xml.value("ListenerArn", balancerARN.replacingOccurrences(of: ":loadbalancer/", with: ":listener/")
                    + "/" + String(listener.port, radix: 16).leftPadded(16))
                xml.value("LoadBalancerArn", balancerARN)
                if topology[ref].kind == .network {
                    xml.value("Port", Int(listener.port))
                    xml.value("Protocol", listener.protocolName)
                }
                xml.list("DefaultActions", member: "member", [listener.targetGroup]) { xml, group in
                    xml.value("Type", "forward")
                    xml.value("TargetGroupArn", topology.arn(of: group))
                }
            }
            xml.value("NextMarker", page.next)
        }
    }

    static func targetGroups(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        var chosen = topology.targetGroups.indices.map { Ref<TargetGroup>($0) }
        if let arn = context.request.parameters["LoadBalancerArn"] {
            let balancer = try balancer(arn: arn, topology)
            chosen = chosen.filter { topology.loadBalancers(of: $0).contains(balancer) }
        }
        let arns = context.request.list("TargetGroupArns", member: "member"), names = context.request.list("Names", member: "member")
        if !arns.isEmpty {
            var found: [Ref<TargetGroup>] = []
            for arn in arns { found.append(try group(arn: arn, topology)) }
            chosen = chosen.filter { found.contains($0) }
        }
        if !names.isEmpty {
            for name in names where !topology.targetGroups.contains(where: { $0.name == name }) {
                throw APIError(.targetGroupNotFound, "One or more target groups not found")
            }
            chosen = chosen.filter { names.contains(topology[$0].name) }
        }
        let page = try page(chosen, context)
        return { xml in
            xml.list("TargetGroups", member: "member", page.elements) { xml, ref in
                let group = topology[ref], check = group.healthCheck
                xml.value("TargetGroupArn", topology.arn(of: ref))
                xml.value("TargetGroupName", group.name)
                xml.value("Protocol", group.protocolName)
                xml.value("Port", Int(group.port))
                xml.value("VpcId", group.vpc.map { topology[$0].id })
                xml.value("HealthCheckProtocol", check.protocolName)
                xml.value("HealthCheckPort", check.port.map { String($0) } ?? "traffic-port")
                xml.value("HealthCheckEnabled", true)
                xml.value("HealthCheckIntervalSeconds", check.interval)
                xml.value("HealthCheckTimeoutSeconds", check.timeout)
                xml.value("HealthyThresholdCount", check.healthyThreshold)
                xml.value("UnhealthyThresholdCount", check.unhealthyThreshold)
                xml.value("HealthCheckPath", check.path)
                xml.strings("LoadBalancerArns", member: "member", topology.loadBalancers(of: ref).map { topology.arn(of: $0) })
                xml.value("TargetType", group.targetType.rawValue)
                xml.value("IpAddressType", group.ipv6Targets ? "ipv6" : "ipv4")
            }
            xml.value("NextMarker", page.next)
        }
    }

    /// What a target is called in the API: its instance ID, or its address in an `ip` group.
    static func targetID(_ target: TargetGroup.Target, of group: TargetGroup, _ topology: Topology) -> String {
        if group.targetType == .ip {
            let interface = topology[target.interface]
            return (group.ipv6Targets ? interface.ipv6.map { "\($0)" } : interface.ipv4.map { "\($0)" }) ?? ""
        }
        return topology[target.host].instanceID ?? topology[target.host].name
    }

    static func targetHealth(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let ref = try group(arn: try context.required("TargetGroupArn").get(), topology)
        let group = topology[ref]
        let asked = try targets(context)
        /// A row of the answer: a target as the API names it, and its health.
        struct Row {
            var id: String
            var port: UInt16
            var zone: String?
            var health: APISnapshot.TargetHealth
        }
        var described: [Row] = []
        for target in group.targets {
            let id = targetID(target, of: group, topology)
            guard asked.isEmpty || asked.contains(where: { $0.id == id && ($0.port == nil || $0.port == target.port) }) else { continue }
            let key = APISnapshot.TargetKey(group: ref.index, host: topology[target.host].name, port: target.port)
            let health: APISnapshot.TargetHealth
            let balancers = topology.loadBalancers(of: ref)
            if balancers.isEmpty {
                health = .init(state: "unused", reason: "Target.NotInUse",
                               description: "Target group is not configured to receive traffic from the load balancer")
            } else if !balancers.contains(where: { topology[$0].nodes.contains { $0.zone == target.zone } }) {
                health = .init(state: "unused", reason: "Target.NotInUse",
                               description: "Target is in an Availability Zone that is not enabled for the load balancer")
            } else {
                health = context.snapshot.targetHealth[key]
                    ?? .init(state: "initial", reason: "Elb.RegistrationInProgress", description: "Target registration is in progress")
            }
            described.append(Row(id: id, port: target.port, zone: group.targetType == .ip ? topology[target.zone].name : nil, health: health))
        }
        for wanted in asked where !group.targets.contains(where: { targetID($0, of: group, topology) == wanted.id }) {
            described.append(Row(id: wanted.id, port: wanted.port ?? group.port, zone: nil,
                                 health: .init(state: "unused", reason: "Target.NotRegistered",
                                               description: "Target is not registered to the target group \(wanted.id)")))
        }
        return { xml in
            xml.list("TargetHealthDescriptions", member: "member", described) { xml, row in
                let health = row.health
                xml.element("Target") { xml in
                    xml.value("Id", row.id)
                    xml.value("AvailabilityZone", row.zone)
                    xml.value("Port", Int(row.port))
                }
                xml.value("HealthCheckPort", group.healthCheck.port.map { String($0) } ?? String(row.port))
                xml.element("TargetHealth") { xml in
                    xml.value("State", health.state)
                    xml.value("Reason", health.reason)
                    xml.value("Description", health.description)
                }
            }
        }
    }

    /// `Targets.member.N.Id` and `.Port`.
    private static func targets(_ context: ActionContext) throws(APIError) -> [(id: String, port: UInt16?)] {
        var found: [(Int, String, UInt16?)] = []
        for (key, value) in context.request.parameters where key.hasPrefix("Targets.member.") && key.hasSuffix(".Id") {
            let number = key.dropFirst("Targets.member.".count).dropLast(".Id".count)
            guard let index = Int(number) else { continue }
            var port: UInt16?
            if let text = context.request.parameters["Targets.member.\(number).Port"] {
                guard let value = UInt16(text), value > 0 else {
                    throw APIError(.validationError, "Port \(text) of target \(value) is not from 1 to 65535")
                }
                port = value
            }
            found.append((index, value, port))
        }
        return found.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
    }

    // MARK: Writes

    /// Registers or deregisters targets: instances by ID (hosts of the group's VPC), or addresses
    /// of an `ip` group; a registered target gets the group's port unless one is given.
    static func register(_ registering: Bool, _ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let ref = try group(arn: try context.required("TargetGroupArn").get(), topology)
        let group = topology[ref]
        let asked = try targets(context)
        guard !asked.isEmpty else { throw APIError(.validationError, "Targets must be specified") }
        var changes: [(host: String, port: UInt16)] = []
        for (id, port) in asked {
            let port = port ?? group.port
            if registering {
                guard let host = topology.hosts.indices.first(where: { hostMatches(Ref($0), id: id, group: group, topology) }),
                      case .vpc(let interface) = topology.hosts[host].placement,
                      group.vpc == nil || topology[topology[interface].subnet].vpc == group.vpc else {
                    throw APIError(.invalidTarget, "The following targets are not in a running state or not in the target group's VPC: '\(id)'")
                }
                changes.append((topology.hosts[host].name, port))
            } else {
                guard let target = group.targets.first(where: { targetID($0, of: group, topology) == id && $0.port == port }) else {
                    throw APIError(.invalidTarget, "The specified target does not exist, or is not registered to the target group: '\(id)'")
                }
                changes.append((topology[target.host].name, port))
            }
        }
        try context.edit { spec, _ throws(APIError) in
            guard let index = spec.targetGroups.firstIndex(where: { $0.name.value == group.name }) else { return }
            for (host, port) in changes {
                // The file's own way of naming a target: by host, with its port only where it is
                // not the group's.
                func same(_ target: TargetSpec) -> Bool {
                    target.host.value == host && UInt16(target.port?.value ?? Int(group.port)) == port
                }
                if registering {
                    guard !spec.targetGroups[index].targets.contains(where: same) else { continue }
                    spec.targetGroups[index].targets.append(TargetSpec(
                        location: ActionContext.apiPosition, host: Located(host, at: ActionContext.apiPosition),
                        port: port == group.port ? nil : Located(Int(port), at: ActionContext.apiPosition)))
                } else {
                    spec.targetGroups[index].targets.removeAll(where: same)
                }
            }
        }
        return { _ in }
    }

    private static func hostMatches(_ host: Ref<Host>, id: String, group: TargetGroup, _ topology: Topology) -> Bool {
        guard case .vpc(let interface) = topology[host].placement else { return false }
        if group.targetType == .ip {
            return topology[interface].ipv4.map { "\($0)" } == id || topology[interface].ipv6.map { "\($0)" } == id
        }
        return topology[host].instanceID == id
    }
}
