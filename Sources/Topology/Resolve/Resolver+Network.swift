import PacketWire

// VPCs, subnets, route tables, prefix lists and security groups.

extension Resolver {
    mutating func resolveVPCs() {
        for (index, vpc) in spec.vpcs.enumerated() {
            vpcs.add(vpc.name, index: index, log: log)
            let subject = "VPC '\(vpc.name.value)'"
            var cidr = IPv4Prefix(containing: IPv4Address(0), length: 16)
            if let prefix = ipv4Prefix(vpc.cidr, field: "cidr", of: subject) {
                cidr = prefix
                // AWS allows VPC blocks from /16 to /28.
                if !(16...28).contains(prefix.length) {
                    log.error(vpc.cidr.location, "'cidr' of \(subject): a VPC CIDR block must be between /16 and /28, not /\(prefix.length)")
                }
            }
            var ipv6: IPv6Prefix?
            if let text = vpc.ipv6Cidr, let prefix = ipv6Prefix(text, field: "ipv6Cidr", of: subject) {
                ipv6 = prefix
                if !(44...60).contains(prefix.length) {
                    log.error(text.location, "'ipv6Cidr' of \(subject): a VPC IPv6 block must be between /44 and /60, not /\(prefix.length)")
                }
            }
            let id = resourceID(vpc.id, prefix: "vpc", kind: "VPC", name: vpc.name.value)
            let gateway = vpc.internetGateway.map { gateway in
                InternetGateway(id: resourceID(gateway.id, prefix: "igw", kind: "internet gateway", name: vpc.name.value),
                                edgeRouteTable: nil)
            }
            if !vpc.enableDnsSupport && vpc.enableDnsHostnames {
                log.warning(vpc.name.location, "\(subject) has enableDnsHostnames without enableDnsSupport; private DNS names need both")
            }
            // Every VPC has a main route table; it gets the index after the file's tables.
            topology.vpcs.append(VPC(
                name: vpc.name.value, id: id, accountID: accountID(vpc.account, for: subject), cidr: cidr,
                ipv6Cidr: ipv6, enableDnsSupport: vpc.enableDnsSupport, enableDnsHostnames: vpc.enableDnsHostnames,
                internetGateway: gateway, mainRouteTable: Ref(spec.routeTables.count + index)))
        }
    }

    /// Route tables exist before subnets name them; their routes are resolved last, once the
    /// endpoints they can point at exist.
    mutating func declareRouteTables() {
        for (index, table) in spec.routeTables.enumerated() {
            routeTables.add(table.name, index: index, log: log)
            let vpc = vpcs.find(table.vpc, from: "route table '\(table.name.value)'", log: log)
            topology.routeTables.append(RouteTable(
                name: table.name.value, id: resourceID(table.id, prefix: "rtb", kind: "route table", name: table.name.value),
                vpc: vpc.map(Ref.init) ?? placeholder(), isMain: false, routes: []))
        }
        for (index, vpc) in topology.vpcs.enumerated() {
            topology.routeTables.append(RouteTable(
                name: "\(vpc.name)-main", id: Names.resourceID("rtb", kind: "main route table", name: vpc.name),
                vpc: Ref(index), isMain: true, routes: []))
        }
        for (index, vpc) in spec.vpcs.enumerated() {
            guard let edge = vpc.internetGateway?.edgeRouteTable else { continue }
            guard let table = routeTable(edge, inVPC: index, for: "the internet gateway of VPC '\(vpc.name.value)'") else { continue }
            topology.vpcs[index].internetGateway?.edgeRouteTable = table
        }
    }

    /// A route table of the given VPC.
    func routeTable(_ reference: Located<String>, inVPC vpc: Int, for subject: String) -> Ref<RouteTable>? {
        guard let index = routeTables.find(reference, from: subject, log: log) else { return nil }
        let table = topology.routeTables[index]
        guard table.vpc.index == vpc else {
            log.error(reference.location, "\(subject) is in VPC '\(topology.vpcs[vpc].name)', but route table '\(table.name)' is in VPC '\(topology.vpcs[table.vpc.index].name)'")
            return nil
        }
        return Ref(index)
    }

    mutating func resolveSubnets() {
        for (index, subnet) in spec.subnets.enumerated() {
            subnets.add(subnet.name, index: index, log: log)
            let subject = "subnet '\(subnet.name.value)'"
            let vpcIndex = vpcs.find(subnet.vpc, from: subject, log: log)
            let vpc = vpcIndex.map { topology.vpcs[$0] }
            var cidr: IPv4Prefix?
            // A block that fails a check marks its subnet: no address is checked in it or
            // allocated from it, so a /32 cannot make an empty range of host addresses.
            if let text = subnet.cidr, let prefix = ipv4Prefix(text, field: "cidr", of: subject) {
                cidr = prefix
                if let vpc, !vpc.cidr.contains(prefix) {
                    log.error(text.location, "\(subject): \(prefix) is outside the CIDR block \(vpc.cidr) of VPC '\(vpc.name)'")
                    subnetsWithBadBlocks.insert(index)
                } else if !(16...28).contains(prefix.length) {
                    log.error(text.location, "\(subject): a subnet CIDR block must be between /16 and /28, not /\(prefix.length)")
                    subnetsWithBadBlocks.insert(index)
                }
            }
            var ipv6: IPv6Prefix?
            if let text = subnet.ipv6Cidr, let prefix = ipv6Prefix(text, field: "ipv6Cidr", of: subject) {
                ipv6 = prefix
                if let vpc {
                    if let block = vpc.ipv6Cidr {
                        if !block.contains(prefix) {
                            log.error(text.location, "\(subject): \(prefix) is outside the IPv6 block \(block) of VPC '\(vpc.name)'")
                            subnetsWithBadBlocks.insert(index)
                        } else if !(44...64).contains(prefix.length) {
                            log.error(text.location, "\(subject): a subnet IPv6 block must be between /44 and /64, not /\(prefix.length)")
                            subnetsWithBadBlocks.insert(index)
                        }
                    } else {
                        log.error(text.location, "\(subject) has an IPv6 block, but VPC '\(vpc.name)' has no 'ipv6Cidr'")
                        subnetsWithBadBlocks.insert(index)
                    }
                }
            }
            let zone = self.zone(subnet.zone, for: subject) ?? placeholder()
            var table: Ref<RouteTable>
            if let vpcIndex {
                table = topology.vpcs[vpcIndex].mainRouteTable
                if let reference = subnet.routeTable, let named = routeTable(reference, inVPC: vpcIndex, for: subject) {
                    table = named
                }
            } else {
                table = placeholder()
            }
            topology.subnets.append(Subnet(
                name: subnet.name.value, id: resourceID(subnet.id, prefix: "subnet", kind: "subnet", name: subnet.name.value),
                vpc: vpcIndex.map(Ref.init) ?? placeholder(), zone: zone, cidr: cidr, ipv6Cidr: ipv6, routeTable: table))
        }
        reportOverlappingSubnets()
    }

    /// One error per subnet whose block overlaps a block of a subnet written before it in the
    /// same VPC, naming the first such subnet and how many more there are.
    func reportOverlappingSubnets() {
        for vpc in topology.vpcs.indices {
            let members = topology.subnets.indices.filter { topology.subnets[$0].vpc.index == vpc }
            for ipv6 in [false, true] {
                let written = members.filter { ipv6 ? topology.subnets[$0].ipv6Cidr != nil : topology.subnets[$0].cidr != nil }
                let blocks = written.map { ipv6 ? topology.subnets[$0].ipv6Cidr! : topology.subnets[$0].cidr!.mapped }
                for overlap in BlockOverlaps.find(blocks) {
                    let subnet = written[overlap.block], other = written[overlap.first]
                    let text = ipv6 ? spec.subnets[subnet].ipv6Cidr! : spec.subnets[subnet].cidr!
                    let block = ipv6 ? "\(topology.subnets[subnet].ipv6Cidr!)" : "\(topology.subnets[subnet].cidr!)"
                    let otherBlock = ipv6 ? "\(topology.subnets[other].ipv6Cidr!)" : "\(topology.subnets[other].cidr!)"
                    let more = overlap.count > 1 ? " and \(overlap.count - 1) other subnet\(overlap.count == 2 ? "" : "s")" : ""
                    log.error(text.location, "subnet '\(topology.subnets[subnet].name)': \(block) overlaps \(otherBlock) of subnet '\(topology.subnets[other].name)' (line \(spec.subnets[other].name.location.line))\(more)")
                }
            }
        }
    }

    mutating func resolvePrefixLists() {
        for (index, list) in spec.prefixLists.enumerated() {
            prefixLists.add(list.id, index: index, log: log)
            Directory.checkName(list.name, kind: "prefix list", log: log)
            let subject = "prefix list '\(list.id.value)'"
            let digits = list.id.value.dropFirst(3)
            if !list.id.value.hasPrefix("pl-") || !(8...17).contains(digits.count)
                || !digits.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
                log.error(list.id.location, "'\(list.id.value)' is not a prefix list ID: expected 'pl-' and 8 to 17 lowercase hex digits")
            }
            if !list.name.value.hasPrefix("com.amazonaws.") {
                log.warning(list.name.location, "\(subject) is named '\(list.name.value)'; AWS names service prefix lists like 'com.amazonaws.\(spec.region.value).s3'")
            }
            let cidrs = list.cidrs.compactMap { ipv4Prefix($0, field: "cidrs", of: subject) }
            topology.prefixLists.append(PrefixList(id: list.id.value, name: list.name.value, cidrs: cidrs))
        }
    }

    mutating func resolveSecurityGroups() {
        // Names first (rules may name groups defined later); a VPC without a group named
        // 'default' gets AWS's default group: ingress from itself, egress anywhere.
        for (index, group) in spec.securityGroups.enumerated() {
            guard let vpc = vpcs.find(group.vpc, from: "security group '\(group.name.value)'", log: log) else { continue }
            securityGroupsByVPC[vpc, default: Directory(kind: "security group")].add(group.name, index: index, log: log)
        }
        var defaults: [(vpc: Int, index: Int)] = []
        for vpc in topology.vpcs.indices where securityGroupsByVPC[vpc]?.indices["default"] == nil {
            let index = spec.securityGroups.count + defaults.count
            defaults.append((vpc, index))
            securityGroupsByVPC[vpc, default: Directory(kind: "security group")]
                .add(Located("default", at: FilePosition(line: 1, column: 1)), index: index, log: log)
        }
        for group in spec.securityGroups {
            let subject = "security group '\(group.name.value)'"
            guard let vpc = vpcs.indices[group.vpc.value] else {
                // The VPC was reported unknown above.
                topology.securityGroups.append(SecurityGroup(name: group.name.value, id: "", vpc: placeholder(), ingress: [], egress: []))
                continue
            }
            let ingress = group.ingress.compactMap { rule($0, vpc: vpc, of: subject) }
            let egress = group.egress.map { $0.compactMap { rule($0, vpc: vpc, of: subject) } } ?? Resolver.allowAllEgress
            topology.securityGroups.append(SecurityGroup(
                name: group.name.value, id: resourceID(group.id, prefix: "sg", kind: "security group", name: "\(group.vpc.value)/\(group.name.value)"),
                vpc: Ref(vpc), ingress: ingress, egress: egress))
        }
        for (vpc, index) in defaults {
            topology.securityGroups.append(SecurityGroup(
                name: "default", id: Names.resourceID("sg", kind: "security group", name: "\(topology.vpcs[vpc].name)/default"),
                vpc: Ref(vpc),
                ingress: [SecurityGroupRule(protocolMatch: .all, ports: 0...65535, peer: .securityGroup(Ref(index)))],
                egress: Resolver.allowAllEgress))
        }
    }

    static let allowAllEgress = [
        SecurityGroupRule(protocolMatch: .all, ports: 0...65535, peer: .ipv4(IPv4Prefix("0.0.0.0/0")!)),
        SecurityGroupRule(protocolMatch: .all, ports: 0...65535, peer: .ipv6(IPv6Prefix("::/0")!)),
    ]

    /// Security groups of one VPC by name; none given means the VPC's default group.
    func securityGroups(_ references: [Located<String>], vpc: Int, for subject: String) -> [Ref<SecurityGroup>] {
        let directory = securityGroupsByVPC[vpc] ?? Directory(kind: "security group")
        if references.isEmpty {
            return directory.indices["default"].map { [Ref($0)] } ?? []
        }
        return references.compactMap { reference in
            guard let index = directory.indices[reference.value] else {
                let elsewhere = securityGroupsByVPC.first { $0.value.indices[reference.value] != nil }
                if let elsewhere {
                    log.error(reference.location, "\(subject) is in VPC '\(topology.vpcs[vpc].name)', but security group '\(reference.value)' is in VPC '\(topology.vpcs[elsewhere.key].name)'")
                } else {
                    _ = directory.find(reference, from: subject, log: log)
                }
                return nil
            }
            return Ref(index)
        }
    }

    func rule(_ rule: RuleSpec, vpc: Int, of subject: String) -> SecurityGroupRule? {
        let match = SecurityGroupRule.IPProtocolMatch(rawValue: rule.protocolName.value) ?? .all
        var ports: ClosedRange<UInt16> = 0...65535
        if let text = rule.ports {
            guard match == .tcp || match == .udp else {
                log.error(text.location, "a rule of \(subject) gives ports for protocol '\(match.rawValue)'; only tcp and udp rules have ports")
                return nil
            }
            let bounds = text.value.split(separator: "-", omittingEmptySubsequences: false).map { UInt16($0) }
            guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil,
                  low >= 1, low <= high else {
                log.error(text.location, "a rule of \(subject): ports must be a port (1 to 65535) or a range like '1024-65535', not '\(text.value)'")
                return nil
            }
            ports = low...high
        }
        let peer: SecurityGroupRule.Peer
        if let cidr = rule.cidr {
            if cidr.value.contains(":") {
                guard let prefix = ipv6Prefix(cidr, field: "cidr", of: "a rule of \(subject)") else { return nil }
                peer = .ipv6(prefix)
            } else {
                guard let prefix = ipv4Prefix(cidr, field: "cidr", of: "a rule of \(subject)") else { return nil }
                peer = .ipv4(prefix)
            }
        } else if let group = rule.securityGroup {
            guard let ref = securityGroups([group], vpc: vpc, for: "a rule of \(subject)").first else { return nil }
            peer = .securityGroup(ref)
        } else if let list = rule.prefixList {
            guard let index = prefixLists.find(list, from: "a rule of \(subject)", log: log) else { return nil }
            peer = .prefixList(Ref(index))
        } else {
            return nil
        }
        return SecurityGroupRule(protocolMatch: match, ports: ports, peer: peer)
    }

    /// Routes written in the file, then the implicit ones: `local` for the VPC's blocks, and the
    /// prefix-list route of every gateway endpoint associated with the table.
    mutating func resolveRoutes() {
        for (index, table) in spec.routeTables.enumerated() {
            let subject = "route table '\(table.name.value)'"
            let vpcIndex = topology.routeTables[index].vpc.index
            guard vpcIndex < topology.vpcs.count else { continue }
            let vpc = topology.vpcs[vpcIndex]
            var written: [Route] = []
            var seen: [Route.Destination: FilePosition] = [:]
            for route in table.routes {
                guard let destination = routeDestination(route.destination, of: subject) else { continue }
                if let first = seen[destination] {
                    log.error(route.destination.location, "\(subject) has two routes to \(route.destination.value) (the first at line \(first.line))")
                    continue
                }
                seen[destination] = route.destination.location
                guard let target = routeTarget(route, destination: destination, vpc: vpcIndex, of: subject) else { continue }
                written.append(Route(destination: destination, target: target))
            }
            topology.routeTables[index].routes = Resolver.localRoutes(vpc) + written.filter { $0.target != .local }
        }
        for vpc in topology.vpcs {
            topology.routeTables[vpc.mainRouteTable.index].routes = Resolver.localRoutes(vpc)
        }
        for (endpointIndex, endpoint) in topology.endpoints.enumerated() where endpoint.kind == .gateway {
            guard case .gateway(let list) = endpoint.service else { continue }
            for table in endpoint.routeTables {
                topology.routeTables[table.index].routes.append(
                    Route(destination: .prefixList(list), target: .gatewayEndpoint(Ref(endpointIndex))))
            }
        }
    }

    static func localRoutes(_ vpc: VPC) -> [Route] {
        var routes = [Route(destination: .ipv4(vpc.cidr), target: .local)]
        if let ipv6 = vpc.ipv6Cidr { routes.append(Route(destination: .ipv6(ipv6), target: .local)) }
        return routes
    }

    func routeDestination(_ text: Located<String>, of subject: String) -> Route.Destination? {
        if text.value.hasPrefix("pl-") {
            return prefixLists.find(text, from: "a route of \(subject)", log: log).map { .prefixList(Ref($0)) }
        }
        if text.value.contains(":") {
            return ipv6Prefix(text, field: "destination", of: "a route of \(subject)").map { .ipv6($0) }
        }
        return ipv4Prefix(text, field: "destination", of: "a route of \(subject)").map { .ipv4($0) }
    }

    func routeTarget(_ route: RouteSpec, destination: Route.Destination, vpc: Int, of subject: String) -> Route.Target? {
        let target = route.target
        let vpcModel = topology.vpcs[vpc]
        switch target.value {
        case "local":
            let isVPCBlock = destination == .ipv4(vpcModel.cidr) || vpcModel.ipv6Cidr.map { destination == .ipv6($0) } == true
            if !isVPCBlock {
                log.error(target.location, "a route of \(subject) sends \(route.destination.value) to 'local'; only the VPC's own blocks are local")
                return nil
            }
            return .local
        case "internetGateway":
            if vpcModel.internetGateway == nil {
                log.error(target.location, "a route of \(subject) targets the internet gateway, but VPC '\(vpcModel.name)' has none ('internetGateway: true')")
                return nil
            }
            return .internetGateway
        default:
            guard let index = endpoints.indices[target.value] else {
                let hint = suggestion(for: target.value, among: endpoints.names + ["local", "internetGateway"])
                    .map { "; did you mean '\($0)'?" } ?? ""
                log.error(target.location, "a route of \(subject) targets '\(target.value)', which is not 'local', 'internetGateway' or a Gateway Load Balancer endpoint\(hint)")
                return nil
            }
            let endpoint = topology.endpoints[index]
            // CreateRoute accepts a VPC endpoint ID for GWLB endpoints only (docs/aws-behaviour.md
            // §6).
            guard endpoint.kind == .gatewayLoadBalancer else {
                log.error(target.location, "a route of \(subject) targets endpoint '\(endpoint.name)', a \(endpoint.kind.rawValue) endpoint; only Gateway Load Balancer endpoints can be route targets (gateway endpoints are associated through their 'routeTables')")
                return nil
            }
            guard endpoint.vpc.index == vpc else {
                log.error(target.location, "a route of \(subject) targets endpoint '\(endpoint.name)' of another VPC")
                return nil
            }
            return .gatewayLoadBalancerEndpoint(Ref(index))
        }
    }
}
