import PacketWire
import Topology

// EC2's writes of the subset, each an edit of the topology's spec as a change to the file would
// be (names for references, as the file writes them), resolved again before it stands.

extension EC2Actions {
    static var here: FilePosition { ActionContext.apiPosition }

    /// A name for a resource the API creates: its `Name` tag when given (from
    /// `TagSpecification.N.Tag.M`), else `prefix-N`, the first N no resource of the kind has.
    static func newName(_ context: ActionContext, prefix: String, taken: [String]) throws(APIError) -> String {
        if let name = creationTags(context).first(where: { $0.key == "Name" })?.value {
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                throw APIError(.invalidParameterValue, "the Name tag '\(name)' is not a name Privet can give (letters, digits, - _ .)")
            }
            guard !taken.contains(name) else { throw APIError(.invalidParameterValue, "a resource named '\(name)' exists") }
            return name
        }
        var number = 1
        while taken.contains("\(prefix)-\(number)") { number += 1 }
        return "\(prefix)-\(number)"
    }

    static func bool(_ context: ActionContext, _ name: String) throws(APIError) -> Bool? {
        guard let text = context.request.parameters[name] else { return nil }
        guard let value = Bool(text.lowercased()) else { throw APIError(.invalidParameterValue, "\(name) must be true or false, not '\(text)'") }
        return value
    }

    static func returnTrue(_ xml: inout XMLWriter) { xml.value("return", true) }

    // MARK: Security group rules

    /// The rules a request names, in the spec's words: `IpPermissions.N.*`, or the short form
    /// (`IpProtocol`, `FromPort`, `ToPort`, `CidrIp`) the CLI's `--protocol --port --cidr` makes.
    static func requestedRules(_ context: ActionContext, vpc: Ref<VPC>) throws(APIError) -> [RuleSpec] {
        let topology = context.topology, parameters = context.request.parameters
        func rules(prefix: String) throws(APIError) -> [RuleSpec] {
            guard let protocolText = parameters[prefix + "IpProtocol"] else { return [] }
            let proto: String
            switch protocolText.lowercased() {
            case "tcp", "6": proto = "tcp"
            case "udp", "17": proto = "udp"
            case "icmp", "1": proto = "icmp"
            case "icmpv6", "58": proto = "icmpv6"
            case "-1", "all": proto = "all"
            default: throw APIError(.invalidParameterValue, "Privet's security groups take tcp, udp, icmp, icmpv6 or -1, not '\(protocolText)'")
            }
            var ports: String?
            if proto == "tcp" || proto == "udp" {
                guard let from = parameters[prefix + "FromPort"].flatMap({ Int($0) }), let to = parameters[prefix + "ToPort"].flatMap({ Int($0) }),
                      (0...65535).contains(from), (from...65535).contains(to) else {
                    throw APIError(.invalidParameterValue, "a \(proto) rule needs FromPort and ToPort from 0 to 65535, FromPort first")
                }
                ports = from == to ? String(from) : "\(from)-\(to)"
            }
            func rule(cidr: String? = nil, group: String? = nil, prefixList: String? = nil) -> RuleSpec {
                RuleSpec(location: here, protocolName: Located(proto, at: here), ports: ports.map { Located($0, at: here) },
                         cidr: cidr.map { Located($0, at: here) }, securityGroup: group.map { Located($0, at: here) },
                         prefixList: prefixList.map { Located($0, at: here) })
            }
            var found: [RuleSpec] = []
            found += indexed(parameters, prefix + "IpRanges", "CidrIp").map { rule(cidr: $0) }
            found += indexed(parameters, prefix + "Ipv6Ranges", "CidrIpv6").map { rule(cidr: $0) }
            found += indexed(parameters, prefix + "PrefixListIds", "PrefixListId").map { rule(prefixList: $0) }
            for id in indexed(parameters, prefix + "Groups", "GroupId") {
                guard let group = topology.securityGroups.first(where: { $0.id == id && $0.vpc == vpc }) else {
                    throw APIError(.securityGroupNotFound, "The security group '\(id)' does not exist in this VPC")
                }
                found.append(rule(group: group.name))
            }
            if prefix.isEmpty, let cidr = parameters["CidrIp"] { found.append(rule(cidr: cidr)) }
            if prefix.isEmpty, let name = parameters["SourceSecurityGroupName"] {
                guard topology.securityGroups.contains(where: { $0.name == name && $0.vpc == vpc }) else {
                    throw APIError(.securityGroupNotFound, "The security group '\(name)' does not exist in this VPC")
                }
                found.append(rule(group: name))
            }
            return found
        }
        var found = try rules(prefix: "")
        var number = 1
        while parameters["IpPermissions.\(number).IpProtocol"] != nil {
            found += try rules(prefix: "IpPermissions.\(number).")
            number += 1
        }
        guard !found.isEmpty else { throw APIError(.missingParameter, "The request must contain the parameter IpPermissions") }
        return found
    }

    /// `NAME.1.FIELD`, `NAME.2.FIELD`, ... in order.
    static func indexed(_ parameters: [String: String], _ name: String, _ field: String) -> [String] {
        var values: [String] = []
        var number = 1
        while let value = parameters["\(name).\(number).\(field)"] {
            values.append(value)
            number += 1
        }
        return values
    }

    static func sameRule(_ a: RuleSpec, _ b: RuleSpec) -> Bool {
        func range(_ ports: Located<String>?) -> [Int] {
            guard let ports else { return [0, 65535] }
            let parts = ports.value.split(separator: "-").compactMap { Int($0) }
            return parts.count == 1 ? [parts[0], parts[0]] : parts
        }
        return a.protocolName.value == b.protocolName.value && range(a.ports) == range(b.ports) && a.cidr?.value == b.cidr?.value
            && a.securityGroup?.value == b.securityGroup?.value && a.prefixList?.value == b.prefixList?.value
    }

    /// The index of `group`'s entry in the spec. A VPC's default group, which the file need not
    /// write, is written out with AWS's default rules (ingress from itself; egress left out, so
    /// everything) to be changed.
    static func securityGroupSpec(_ spec: inout TopologySpec, _ group: SecurityGroup, _ topology: Topology) -> Int {
        let vpcName = topology[group.vpc].name
        if let index = spec.securityGroups.firstIndex(where: { $0.name.value == group.name && $0.vpc.value == vpcName }) { return index }
        spec.securityGroups.append(SecurityGroupSpec(
            name: Located(group.name, at: here), vpc: Located(vpcName, at: here),
            ingress: [RuleSpec(location: here, protocolName: Located("all", at: here), securityGroup: Located(group.name, at: here))]))
        return spec.securityGroups.count - 1
    }

    /// Adds or removes rules of a group. A VPC's default group, which the file need not write,
    /// is written out with AWS's default rules first.
    static func changeRules(ingress: Bool, adding: Bool, _ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let groupID = try context.required("GroupId").get()
        guard let group = topology.securityGroups.first(where: { $0.id == groupID }) else {
            throw APIError(.securityGroupNotFound, "The security group '\(groupID)' does not exist")
        }
        let rules = try requestedRules(context, vpc: group.vpc)
        try context.edit { spec, topology throws(APIError) in
            let index = securityGroupSpec(&spec, group, topology)
            var list = ingress ? spec.securityGroups[index].ingress
                : spec.securityGroups[index].egress ?? [RuleSpec(location: here, protocolName: Located("all", at: here), cidr: Located("0.0.0.0/0", at: here)),
                                                        RuleSpec(location: here, protocolName: Located("all", at: here), cidr: Located("::/0", at: here))]
            for rule in rules {
                let present = list.contains { sameRule($0, rule) }
                if adding {
                    guard !present else {
                        throw APIError(.duplicatePermission, "the specified rule \"peer: \(rule.cidr?.value ?? rule.securityGroup?.value ?? rule.prefixList?.value ?? ""), \(rule.protocolName.value) \(rule.ports?.value ?? "all ports")\" already exists")
                    }
                    list.append(rule)
                } else {
                    guard present else {
                        throw APIError(.permissionNotFound, "The specified rule does not exist in this security group.")
                    }
                    list.removeAll { sameRule($0, rule) }
                }
            }
            if ingress { spec.securityGroups[index].ingress = list } else { spec.securityGroups[index].egress = list }
        }
        return { xml in returnTrue(&xml) }
    }

    // MARK: Routes

    static func changeRoute(_ kind: String, _ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology, parameters = context.request.parameters
        let tableID = try context.required("RouteTableId").get()
        guard let table = topology.routeTables.first(where: { $0.id == tableID }) else {
            throw APIError(.routeTableNotFound, "The routeTable ID '\(tableID)' does not exist")
        }
        guard !table.isMain else {
            throw APIError(.invalidParameterValue, "Privet's main route tables hold only the local routes: give the subnets a route table of the file's")
        }
        guard let destination = parameters["DestinationCidrBlock"] ?? parameters["DestinationIpv6CidrBlock"] ?? parameters["DestinationPrefixListId"] else {
            throw APIError(.missingParameter, "The request must contain a destination: DestinationCidrBlock, DestinationIpv6CidrBlock or DestinationPrefixListId")
        }
        var target: String?
        if kind != "delete" {
            if let gateway = parameters["GatewayId"], gateway == topology[table.vpc].internetGateway?.id {
                target = "internetGateway"
            } else if let id = parameters["VpcEndpointId"] ?? parameters["GatewayId"],
                      let endpoint = topology.endpoints.first(where: { $0.id == id && $0.kind == .gatewayLoadBalancer }) {
                target = endpoint.name
            } else {
                throw APIError(.invalidParameterValue, "Privet's routes go to the VPC's internet gateway (GatewayId) or a Gateway Load Balancer endpoint (VpcEndpointId)")
            }
        }
        func same(_ route: RouteSpec) -> Bool {
            route.destination.value == destination
                || (IPv4Prefix(route.destination.value).map { "\($0)" } ?? IPv6Prefix(route.destination.value).map { "\($0)" }) == destination
        }
        try context.edit { spec, _ throws(APIError) in
            guard let index = spec.routeTables.firstIndex(where: { $0.name.value == table.name }) else { return }
            let existing = spec.routeTables[index].routes.firstIndex(where: same)
            switch kind {
            case "create":
                guard existing == nil else { throw APIError(.routeAlreadyExists, "The route identified by \(destination) already exists.") }
                spec.routeTables[index].routes.append(RouteSpec(location: here, destination: Located(destination, at: here),
                                                                target: Located(target ?? "", at: here)))
            case "replace":
                guard let existing else { throw APIError(.routeNotFound, "There is no route defined for '\(destination)' in the route table.") }
                spec.routeTables[index].routes[existing].target = Located(target ?? "", at: here)
            default:
                guard let existing else { throw APIError(.routeNotFound, "There is no route defined for '\(destination)' in the route table.") }
                spec.routeTables[index].routes.remove(at: existing)
            }
        }
        return { xml in returnTrue(&xml) }
    }
}
