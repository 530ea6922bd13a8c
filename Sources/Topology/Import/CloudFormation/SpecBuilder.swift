import PacketWire

/// A template's resources turned into a topology spec, in the order their references need:
/// network first, then security groups, hosts, load balancers, endpoint services, endpoints.
/// Each resource's `Ref` is an AWS-shaped ID (or ARN) derived from its name as Privet derives
/// IDs, so that a property naming another resource (`VpcId: !Ref Vpc`, a service name built with
/// `!Sub`) is found again by that value, whatever function made it.
final class SpecBuilder {
    struct Resource {
        let logicalID: Located<String>
        let type: String
        let node: TemplateNode
    }

    private(set) var spec: TopologySpec
    private(set) var guesses: [String] = []
    private(set) var imported = 0
    private(set) var skipped: [String] = []
    private let evaluator: IntrinsicEvaluator
    private let log: DiagnosticLog
    private let zones: [String]
    private var resources: [Resource] = []
    private var byLogicalID: [String: Int] = [:]
    /// The name each resource has in the topology, and what its Ref gives, both ways.
    private var names: [String: String] = [:]
    private var references: [String: String] = [:]
    private var byReference: [String: String] = [:]
    private var properties: [String: TemplateValue] = [:]
    private var evaluating: Set<String> = []
    /// Addresses Privet designated for instances and ENIs the template gives none.
    private var designated: [String: String] = [:]

    init(region: String, accountID: String, zones: [String], evaluator: IntrinsicEvaluator, log: DiagnosticLog) {
        spec = TopologySpec(region: Located(region, at: FilePosition(line: 1, column: 1)))
        spec.accounts = [AccountSpec(name: Located("stack", at: FilePosition(line: 1, column: 1)),
                                     id: Located(accountID, at: FilePosition(line: 1, column: 1)))]
        self.evaluator = evaluator
        self.log = log
        self.zones = zones
    }

    // MARK: Declaring

    /// Reads each resource's type and condition; gives each kept one a name and a Ref value.
    func declare(_ pairs: [(key: Located<String>, value: TemplateNode)]) {
        var taken: Set<String> = []
        for (key, node) in pairs {
            guard let type = node["Type"]?.scalar else {
                log.error(key.location, "resource \(key.value) has no Type")
                continue
            }
            if let condition = node["Condition"], let name = condition.scalar, !evaluator.holds(name, at: condition.location) {
                skipped.append("\(key.value) (condition \(name) is false)")
                continue
            }
            guard CloudFormationImport.modelled.contains(type) else {
                log.warning(key.location, "\(key.value): \(type) is not modelled by Privet; skipped")
                skipped.append("\(key.value) (\(type))")
                // Said once here: what names it (an instance profile, a role) gets a stand-in.
                evaluator.unmodelled[key.value] = "\(key.value)-not-modelled"
                continue
            }
            byLogicalID[key.value] = resources.count
            resources.append(Resource(logicalID: key, type: type, node: node))
            // The Name tag when it is written plainly and makes a good name; else the logical ID.
            var name = key.value
            if let tags = node["Properties"]?["Tags"], case .list(let items) = tags.value,
               let tag = items.first(where: { $0["Key"]?.scalar == "Name" }), let value = tag["Value"]?.scalar,
               !value.isEmpty, value.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }),
               !taken.contains(type + "/" + value) {
                name = value
            }
            taken.insert(type + "/" + name)
            names[key.value] = name
            let reference = SpecBuilder.reference(type: type, name: name, region: spec.region.value,
                                                  account: spec.accounts[0].id.value)
            references[key.value] = reference
            byReference[reference] = key.value
        }
        evaluator.references = references
        evaluator.attribute = { [unowned self] resource, attribute, location in
            self.attribute(resource, attribute, at: location)
        }
    }

    /// What `Ref` gives for a resource of `type` (CloudFormation's return values).
    static func reference(type: String, name: String, region: String, account: String) -> String {
        let kind = type.split(separator: ":").last.map(String.init) ?? type
        let prefixes = ["VPC": "vpc", "Subnet": "subnet", "RouteTable": "rtb", "InternetGateway": "igw",
                        "SecurityGroup": "sg", "Instance": "i", "NetworkInterface": "eni", "PrefixList": "pl",
                        "VPCEndpoint": "vpce", "VPCEndpointService": "vpce-svc", "LaunchTemplate": "lt"]
        if let prefix = prefixes[kind] { return Names.resourceID(prefix, kind: kind, name: name) }
        let suffix = Names.resourceID("", kind: kind, name: name).dropFirst()
        switch kind {
        case "LoadBalancer": return "arn:aws:elasticloadbalancing:\(region):\(account):loadbalancer/\(name)/\(suffix)"
        case "TargetGroup": return "arn:aws:elasticloadbalancing:\(region):\(account):targetgroup/\(name)/\(suffix)"
        case "Listener": return "arn:aws:elasticloadbalancing:\(region):\(account):listener/\(name)/\(suffix)"
        default: return "\(name)-\(suffix)"
        }
    }

    /// Whether references between resources go round (CloudFormation refuses such a template):
    /// each cycle is an error at the first resource in it.
    func hasCycle() -> Bool {
        let dependencies: [[Int]] = resources.map { resource in
            var found: Set<String> = []
            SpecBuilder.collectReferences(resource.node["Properties"], into: &found)
            if let depends = resource.node["DependsOn"] {
                if let one = depends.scalar { found.insert(one) }
                if case .list(let items) = depends.value { found.formUnion(items.compactMap(\.scalar)) }
            }
            return found.compactMap { byLogicalID[$0] }.sorted()
        }
        var state = [UInt8](repeating: 0, count: resources.count)
        var path: [Int] = []
        var cycle = false
        func visit(_ index: Int) {
            state[index] = 1
            path.append(index)
            for next in dependencies[index] {
                if state[next] == 1 {
                    let loop = path[path.firstIndex(of: next)!...].map { resources[$0].logicalID.value } + [resources[next].logicalID.value]
                    log.error(resources[next].logicalID.location, "a cycle of references: \(loop.joined(separator: " → "))")
                    cycle = true
                } else if state[next] == 0 {
                    visit(next)
                }
            }
            path.removeLast()
            state[index] = 2
        }
        for index in resources.indices where state[index] == 0 { visit(index) }
        return cycle
    }

    /// The logical IDs a node names through Ref, GetAtt and Sub.
    private static func collectReferences(_ node: TemplateNode?, into found: inout Set<String>) {
        guard let node else { return }
        switch node.value {
        case .scalar: return
        case .list(let items): items.forEach { collectReferences($0, into: &found) }
        case .map(let pairs): pairs.forEach { collectReferences($0.value, into: &found) }
        case .function(let name, let argument):
            switch name {
            case "Ref": if let target = argument.scalar { found.insert(target) }
            case "Fn::GetAtt":
                if let text = argument.scalar { found.insert(String(text.prefix { $0 != "." })) }
                if case .list(let items) = argument.value, let first = items.first?.scalar { found.insert(first) }
            case "Fn::Sub":
                let text = argument.scalar ?? { if case .list(let items) = argument.value { return items.first?.scalar } else { return nil } }()
                var rest = Substring(text ?? "")
                while let open = rest.range(of: "${") {
                    rest = rest[open.upperBound...]
                    let name = rest.prefix { $0 != "}" }
                    if !name.hasPrefix("!") && !name.hasPrefix("AWS::") { found.insert(String(name.prefix { $0 != "." })) }
                }
                if case .list(let items) = argument.value { items.dropFirst().forEach { collectReferences($0, into: &found) } }
            default: collectReferences(argument, into: &found)
            }
        }
    }

    // MARK: Reading resources

    /// A resource's properties, evaluated once.
    private func properties(of logicalID: String) -> TemplateValue {
        if let known = properties[logicalID] { return known }
        guard let index = byLogicalID[logicalID] else { return .none }
        guard evaluating.insert(logicalID).inserted else {
            log.error(resources[index].logicalID.location, "\(logicalID): its properties depend on themselves")
            return .none
        }
        let value = resources[index].node["Properties"].map { evaluator.evaluate($0) } ?? .map([:])
        evaluating.remove(logicalID)
        properties[logicalID] = value
        return value
    }

    /// `Fn::GetAtt`: a property of the same name, an ID or ARN (the Ref value), a VPC's IPv6
    /// blocks, a subnet's or instance's zone.
    private func attribute(_ logicalID: String, _ name: String, at location: FilePosition) -> TemplateValue? {
        guard let index = byLogicalID[logicalID] else { return nil }
        let type = resources[index].type
        switch (type, name) {
        case ("AWS::EC2::VPC", "Ipv6CidrBlocks"):
            return .list(ipv6Blocks(ofVPC: logicalID).map { .string($0) })
        case ("AWS::EC2::VPC", "CidrBlockAssociations"), ("AWS::EC2::VPC", "DefaultSecurityGroup"):
            return nil
        case ("AWS::EC2::Instance", "PrivateIp"), ("AWS::EC2::NetworkInterface", "PrimaryPrivateIpAddress"):
            return privateAddress(of: logicalID).map { .string($0) }
        case ("AWS::EC2::LaunchTemplate", "LatestVersionNumber"), ("AWS::EC2::LaunchTemplate", "DefaultVersionNumber"):
            return .string("1")
        case ("AWS::EC2::VPCEndpointService", "ServiceName"):
            return .string("com.amazonaws.vpce.\(spec.region.value).\(references[logicalID]!)")
        case ("AWS::EC2::Instance", "AvailabilityZone"):
            return properties(of: logicalID)["AvailabilityZone"]
                ?? properties(of: logicalID)["SubnetId"].flatMap { $0.string }.flatMap { byReference[$0] }
                    .flatMap { properties(of: $0)["AvailabilityZone"] }
        case ("AWS::ElasticLoadBalancingV2::LoadBalancer", "DNSName"):
            return .string("\(names[logicalID]!)-\(references[logicalID]!.suffix(8)).elb.\(spec.region.value).amazonaws.com")
        case ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerName"), ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupName"):
            return .string(names[logicalID]!)
        default:
            break
        }
        if let value = properties(of: logicalID)[name] { return value }
        if name == "Id" || name.hasSuffix("Id") || name.hasSuffix("Arn") { return .string(references[logicalID]!) }
        return nil
    }

    /// An instance's or ENI's IPv4 address: the one the template gives it, else one Privet
    /// designates in its subnet (from .10 up, in the order asked), as AWS would pick one at
    /// launch; a guess, said in the file.
    private func privateAddress(of logicalID: String) -> String? {
        if let given = properties(of: logicalID)["PrivateIpAddress"]?.string { return given }
        if let chosen = designated[logicalID] { return chosen }
        var props = properties(of: logicalID)
        if let first = props["NetworkInterfaces"]?.list?.first { props = first }
        guard let subnet = props["SubnetId"]?.string.flatMap({ byReference[$0] }),
              let block = properties(of: subnet)["CidrBlock"]?.string.flatMap({ IPv4Prefix($0) }) else { return nil }
        let taken = Set(designated.values)
        var offset: UInt64 = 10
        while taken.contains(block.address(at: offset).description) { offset += 1 }
        guard offset < block.size - 1 else { return nil }
        let address = block.address(at: offset).description
        designated[logicalID] = address
        guesses.append("\(names[logicalID]!) has address \(address) (its address is asked for; the template gives none)")
        return address
    }

    /// The resource a value names (a Ref value, however it was built), as a name in the
    /// topology; a warning at `location` when it names none of `types`.
    private func name(_ value: TemplateValue?, _ types: Set<String>, field: String, of subject: String,
                      at location: FilePosition) -> Located<String>? {
        guard let text = value?.string else {
            if value != nil { log.warning(location, "\(subject): '\(field)' is not a reference") }
            return nil
        }
        guard let logical = byReference[text], let index = byLogicalID[logical], types.contains(resources[index].type) else {
            log.warning(location, "\(subject): '\(field)' names '\(text)', which is not a \(types.sorted().joined(separator: " or ")) of this template")
            return nil
        }
        return Located(names[logical]!, at: location)
    }

    private func names(_ value: TemplateValue?, _ types: Set<String>, field: String, of subject: String,
                       at location: FilePosition) -> [Located<String>] {
        (value?.list ?? value.map { [$0] } ?? []).compactMap { name($0, types, field: field, of: subject, at: location) }
    }

    private func text(_ value: TemplateValue?, at location: FilePosition) -> Located<String>? {
        value?.string.map { Located($0, at: location) }
    }

    // MARK: Building

    func build() {
        for resource in resources {
            let logical = resource.logicalID.value
            let at = resource.logicalID.location
            let props = properties(of: logical)
            let name = Located(names[logical]!, at: at)
            let location = resource.node["Properties"]?.location ?? at
            switch resource.type {
            case "AWS::EC2::VPC":
                guard let cidr = text(props["CidrBlock"], at: location) else {
                    log.warning(at, "\(logical): a VPC needs CidrBlock (an IPAM pool is not modelled); skipped")
                    skipped.append(logical)
                    continue
                }
                var vpc = VPCSpec(name: name, cidr: cidr)
                if let blocks = ipv6Blocks(ofVPC: logical).first { vpc.ipv6Cidr = Located(blocks, at: location) }
                if props["EnableDnsSupport"]?.string == "false" { vpc.enableDnsSupport = false }
                if props["EnableDnsHostnames"]?.string == "false" { vpc.enableDnsHostnames = false }
                spec.vpcs.append(vpc)
            case "AWS::EC2::Subnet":
                guard let vpc = self.name(props["VpcId"], ["AWS::EC2::VPC"], field: "VpcId", of: logical, at: location) else { continue }
                var zone = props["AvailabilityZone"]?.string ?? props["AvailabilityZoneId"]?.string.flatMap(zoneName(ofID:))
                if zone == nil {
                    zone = zones[0]
                    guesses.append("subnet \(name.value) in \(zones[0]) (the template names no AvailabilityZone)")
                }
                var subnet = SubnetSpec(name: name, vpc: vpc, zone: Located(zone!, at: location), cidr: text(props["CidrBlock"], at: location))
                subnet.ipv6Cidr = text(props["Ipv6CidrBlock"], at: location)
                spec.subnets.append(subnet)
            case "AWS::EC2::RouteTable":
                guard let vpc = self.name(props["VpcId"], ["AWS::EC2::VPC"], field: "VpcId", of: logical, at: location) else { continue }
                spec.routeTables.append(RouteTableSpec(name: name, vpc: vpc))
            case "AWS::EC2::PrefixList":
                // Privet's prefix lists are AWS services' networks; a customer-managed list is
                // written out where it is used, a rule or a route for each of its entries.
                break
            case "AWS::EC2::SecurityGroup":
                guard let vpc = self.name(props["VpcId"], ["AWS::EC2::VPC"], field: "VpcId", of: logical, at: location) else { continue }
                var group = SecurityGroupSpec(name: name, vpc: vpc)
                group.ingress = (props["SecurityGroupIngress"]?.list ?? []).flatMap { rule($0, peer: "Source", of: logical, at: location) }
                if let egress = props["SecurityGroupEgress"]?.list {
                    group.egress = egress.flatMap { rule($0, peer: "Destination", of: logical, at: location) }
                }
                spec.securityGroups.append(group)
            case "AWS::ElasticLoadBalancingV2::LoadBalancer":
                loadBalancer(logical, name: name, props, at: location)
            case "AWS::ElasticLoadBalancingV2::TargetGroup":
                targetGroup(logical, name: name, props, at: location)
            case "AWS::EC2::VPCEndpointService":
                let balancers = names(props["NetworkLoadBalancerArns"], ["AWS::ElasticLoadBalancingV2::LoadBalancer"],
                                      field: "NetworkLoadBalancerArns", of: logical, at: location)
                    + names(props["GatewayLoadBalancerArns"], ["AWS::ElasticLoadBalancingV2::LoadBalancer"],
                            field: "GatewayLoadBalancerArns", of: logical, at: location)
                var service = EndpointServiceSpec(name: name, loadBalancers: balancers)
                // The API's default: no acceptance needed.
                service.acceptanceRequired = props["AcceptanceRequired"]?.string == "true"
                service.supportedIpAddressTypes = (props["SupportedIpAddressTypes"]?.strings ?? []).map { Located($0, at: location) }
                spec.endpointServices.append(service)
            default:
                continue
            }
            imported += 1
        }
        // What refers to the resources made above.
        for resource in resources {
            let logical = resource.logicalID.value
            let at = resource.logicalID.location
            let props = properties(of: logical)
            let location = resource.node["Properties"]?.location ?? at
            switch resource.type {
            case "AWS::EC2::VPCCidrBlock", "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::InternetGateway":
                imported += 1
                if resource.type == "AWS::EC2::VPCGatewayAttachment" { attachGateway(logical, props, at: location) }
            case "AWS::EC2::Route":
                route(logical, props, at: location)
            case "AWS::EC2::SubnetRouteTableAssociation":
                guard let subnet = name(props["SubnetId"], ["AWS::EC2::Subnet"], field: "SubnetId", of: logical, at: location),
                      let table = name(props["RouteTableId"], ["AWS::EC2::RouteTable"], field: "RouteTableId", of: logical, at: location),
                      let index = spec.subnets.firstIndex(where: { $0.name.value == subnet.value }) else { continue }
                spec.subnets[index].routeTable = table
                imported += 1
            case "AWS::EC2::GatewayRouteTableAssociation":
                guard let table = name(props["RouteTableId"], ["AWS::EC2::RouteTable"], field: "RouteTableId", of: logical, at: location),
                      let vpc = spec.routeTables.first(where: { $0.name.value == table.value })?.vpc.value,
                      let index = spec.vpcs.firstIndex(where: { $0.name.value == vpc }) else { continue }
                var gateway = spec.vpcs[index].internetGateway ?? InternetGatewaySpec(location: location)
                gateway.edgeRouteTable = table
                spec.vpcs[index].internetGateway = gateway
                imported += 1
            case "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress":
                let ingress = resource.type.hasSuffix("Ingress")
                guard let group = name(props["GroupId"], ["AWS::EC2::SecurityGroup"], field: "GroupId", of: logical, at: location),
                      let index = spec.securityGroups.firstIndex(where: { $0.name.value == group.value }) else { continue }
                let rules = rule(props, peer: ingress ? "Source" : "Destination", of: logical, at: location)
                if ingress {
                    spec.securityGroups[index].ingress += rules
                } else {
                    spec.securityGroups[index].egress = (spec.securityGroups[index].egress ?? []) + rules
                }
                imported += 1
            case "AWS::EC2::Instance", "AWS::EC2::NetworkInterface":
                host(logical, type: resource.type, props, at: location)
            case "AWS::AutoScaling::AutoScalingGroup":
                autoScalingGroup(logical, props, at: location)
            case "AWS::EC2::LaunchTemplate":
                // Read by the groups that launch from it.
                imported += 1
            case "AWS::ElasticLoadBalancingV2::Listener":
                listener(logical, props, at: location)
            case "AWS::EC2::VPCEndpointServicePermissions":
                guard let service = name(props["ServiceId"], ["AWS::EC2::VPCEndpointService"], field: "ServiceId", of: logical, at: location),
                      let index = spec.endpointServices.firstIndex(where: { $0.name.value == service.value }) else { continue }
                spec.endpointServices[index].allowedPrincipals += (props["AllowedPrincipals"]?.strings ?? []).map { Located($0, at: location) }
                imported += 1
            case "AWS::EC2::VPCEndpoint":
                endpoint(logical, props, at: location)
            default:
                continue
            }
        }
        zonesUsed()
        spec.addOutsideWorld(guesses: &guesses)
    }

    /// The VPC's IPv6 blocks: those its `VPCCidrBlock` resources give it, a ULA /56 for one
    /// Amazon provides (Privet's stand-in for Amazon's pool, a guess).
    private func ipv6Blocks(ofVPC logicalID: String) -> [String] {
        var blocks: [String] = []
        for resource in resources where resource.type == "AWS::EC2::VPCCidrBlock" {
            let props = properties(of: resource.logicalID.value)
            guard props["VpcId"]?.string == references[logicalID] else { continue }
            if let block = props["Ipv6CidrBlock"]?.string {
                blocks.append(block)
            } else if props["AmazonProvidedIpv6CidrBlock"]?.string == "true" {
                let number = (spec.vpcs.count + resources.firstIndex { $0.logicalID.value == logicalID }!) % 0xFF + 1
                let block = "fd00:\(String(number, radix: 16))::/56"
                if !guesses.contains(where: { $0.hasPrefix("VPC \(names[logicalID]!) ") }) {
                    guesses.append("VPC \(names[logicalID]!) has IPv6 block \(block) (Amazon-provided in the template)")
                }
                blocks.append(block)
            }
        }
        return blocks
    }

    private func attachGateway(_ logical: String, _ props: TemplateValue, at location: FilePosition) {
        guard props["InternetGatewayId"] != nil,
              name(props["InternetGatewayId"], ["AWS::EC2::InternetGateway"], field: "InternetGatewayId", of: logical, at: location) != nil,
              let vpc = name(props["VpcId"], ["AWS::EC2::VPC"], field: "VpcId", of: logical, at: location),
              let index = spec.vpcs.firstIndex(where: { $0.name.value == vpc.value }) else { return }
        if spec.vpcs[index].internetGateway == nil { spec.vpcs[index].internetGateway = InternetGatewaySpec(location: location) }
    }

    private func route(_ logical: String, _ props: TemplateValue, at location: FilePosition) {
        guard let table = name(props["RouteTableId"], ["AWS::EC2::RouteTable"], field: "RouteTableId", of: logical, at: location),
              let index = spec.routeTables.firstIndex(where: { $0.name.value == table.value }) else { return }
        let listed = props["DestinationPrefixListId"]?.string
        let destinations = (text(props["DestinationCidrBlock"] ?? props["DestinationIpv6CidrBlock"], at: location).map { [$0] })
            ?? listed.map { list in (customerPrefixList(list) ?? [list]).map { Located($0, at: location) } } ?? []
        guard !destinations.isEmpty else {
            log.warning(location, "\(logical): a route needs a destination; skipped")
            skipped.append(logical)
            return
        }
        let target: Located<String>
        if props["GatewayId"] != nil {
            guard name(props["GatewayId"], ["AWS::EC2::InternetGateway"], field: "GatewayId", of: logical, at: location) != nil else { return }
            target = Located("internetGateway", at: location)
        } else if let endpoint = name(props["VpcEndpointId"], ["AWS::EC2::VPCEndpoint"], field: "VpcEndpointId", of: logical, at: location) {
            target = endpoint
        } else {
            let kinds = ["NatGatewayId", "TransitGatewayId", "VpcPeeringConnectionId", "InstanceId", "NetworkInterfaceId",
                         "EgressOnlyInternetGatewayId", "CarrierGatewayId", "LocalGatewayId", "CoreNetworkArn"]
            let kind = kinds.first { props[$0] != nil } ?? "no target"
            log.warning(location, "\(logical): a route to \(kind) is not modelled; skipped")
            skipped.append(logical)
            return
        }
        spec.routeTables[index].routes += destinations.map { RouteSpec(location: location, destination: $0, target: target) }
        imported += 1
    }

    /// A rule of a security group, or of a separate Ingress/Egress resource.
    private func rule(_ props: TemplateValue, peer: String, of logical: String, at location: FilePosition) -> [RuleSpec] {
        let protocols = ["-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"]
        guard let given = props["IpProtocol"]?.string?.lowercased() else {
            log.warning(location, "\(logical): a rule needs IpProtocol; skipped")
            return []
        }
        let proto = protocols[given] ?? given
        var rule = RuleSpec(location: location, protocolName: Located(proto, at: location))
        if proto == "tcp" || proto == "udp", let from = props["FromPort"]?.string, let to = props["ToPort"]?.string, from != "-1" {
            rule.ports = Located(from == to ? from : "\(from)-\(to)", at: location)
        }
        rule.cidr = text(props["CidrIp"] ?? props["CidrIpv6"], at: location)
        rule.securityGroup = name(props["\(peer)SecurityGroupId"], ["AWS::EC2::SecurityGroup"], field: "\(peer)SecurityGroupId",
                                  of: logical, at: location)
        if let list = props["\(peer)PrefixListId"]?.string {
            if let entries = customerPrefixList(list) {
                return entries.map { cidr in
                    var each = rule
                    each.cidr = Located(cidr, at: location)
                    return each
                }
            }
            rule.prefixList = Located(list, at: location)
        }
        guard rule.cidr != nil || rule.securityGroup != nil || rule.prefixList != nil else {
            log.warning(location, "\(logical): a rule needs a peer (CidrIp, CidrIpv6, a security group or a prefix list); skipped")
            return []
        }
        return [rule]
    }

    /// The entries of a customer-managed prefix list of the template that `reference` names.
    private func customerPrefixList(_ reference: String) -> [String]? {
        guard let logical = byReference[reference], let index = byLogicalID[logical],
              resources[index].type == "AWS::EC2::PrefixList" else { return nil }
        return (properties(of: logical)["Entries"]?.list ?? []).compactMap { $0["Cidr"]?.string }
    }

    /// An instance, or an ENI no instance attaches: a host. What it serves is a guess: a
    /// built-in server on each port a target group sends it, so that traffic can be seen flowing.
    private func host(_ logical: String, type: String, _ props: TemplateValue, at location: FilePosition) {
        var props = props
        if type == "AWS::EC2::NetworkInterface" {
            // Attached to an instance of the template: that instance's host.
            let attached = resources.contains { other in
                other.type == "AWS::EC2::Instance" && (properties(of: other.logicalID.value)["NetworkInterfaces"]?.list ?? [])
                    .contains { $0["NetworkInterfaceId"]?.string == references[logical] }
            }
            if attached {
                imported += 1
                return
            }
        } else if let first = props["NetworkInterfaces"]?.list?.first {
            // The instance's first interface gives its subnet and groups.
            if let eni = first["NetworkInterfaceId"]?.string.flatMap({ byReference[$0] }) {
                props = properties(of: eni)
            } else {
                props = first
            }
        }
        guard let subnet = name(props["SubnetId"], ["AWS::EC2::Subnet"], field: "SubnetId", of: logical, at: location) else {
            log.warning(location, "\(logical): no SubnetId of this template; skipped")
            skipped.append(logical)
            return
        }
        var host = HostSpec(name: Located(names[logical]!, at: location), subnet: subnet)
        host.securityGroups = names(props["SecurityGroupIds"] ?? props["GroupSet"], ["AWS::EC2::SecurityGroup"],
                                    field: "SecurityGroupIds", of: logical, at: location)
        if props["SourceDestCheck"]?.string == "false" { host.sourceDestCheck = false }
        host.addresses = [props["PrivateIpAddress"] ?? designated[logical].map { .string($0) },
                          props["Ipv6Addresses"]?.list?.first?["Ipv6Address"]].compactMap { text($0, at: location) }
        if let server = guessedServer(for: logical) {
            host.server = server.spec
            guesses.append("host \(host.name.value)\(host.name.value == logical ? "" : " (\(logical))") runs \(server.what)")
        } else {
            guesses.append("host \(host.name.value) runs no server (no target group sends it traffic): a client")
        }
        spec.hosts.append(host)
        imported += 1
    }

    /// An Auto Scaling group: its desired capacity (else its minimum, at most 16) of hosts,
    /// spread over its subnets in turn, with its launch template's security groups, registered
    /// with its target groups; named after the group (`appliances-1`, ...).
    private func autoScalingGroup(_ logical: String, _ props: TemplateValue, at location: FilePosition) {
        let subnets = names(props["VPCZoneIdentifier"], ["AWS::EC2::Subnet"], field: "VPCZoneIdentifier", of: logical, at: location)
        guard !subnets.isEmpty else {
            log.warning(location, "\(logical): an Auto Scaling group needs VPCZoneIdentifier subnets of this template; skipped")
            skipped.append(logical)
            return
        }
        let wanted = props["DesiredCapacity"]?.string.flatMap { Int($0) } ?? props["MinSize"]?.string.flatMap { Int($0) } ?? 1
        let count = min(max(wanted, 0), 16)
        let launch = props["LaunchTemplate"]?["LaunchTemplateId"]?.string.flatMap { byReference[$0] }
        let data = launch.map { properties(of: $0)["LaunchTemplateData"] ?? .none } ?? .none
        let groups = names(data["SecurityGroupIds"] ?? data["NetworkInterfaces"]?.list?.first?["Groups"],
                           ["AWS::EC2::SecurityGroup"], field: "SecurityGroupIds", of: logical, at: location)
        let targetGroups = names(props["TargetGroupARNs"], ["AWS::ElasticLoadBalancingV2::TargetGroup"], field: "TargetGroupARNs",
                                 of: logical, at: location)
        var made: [String] = []
        for index in 0..<count {
            var host = HostSpec(name: Located("\(names[logical]!)-\(index + 1)", at: location), subnet: subnets[index % subnets.count])
            host.securityGroups = groups
            for group in targetGroups {
                guard let position = spec.targetGroups.firstIndex(where: { $0.name.value == group.value }) else { continue }
                spec.targetGroups[position].targets.append(TargetSpec(location: location, host: host.name))
                if host.server == nil, let resource = byReference.first(where: { names[$0.value] == group.value })?.value {
                    let group = properties(of: resource)
                    host.server = ServerSpec.guessed(targetProtocol: group["Protocol"]?.string ?? "TCP",
                                                     port: group["Port"]?.string.flatMap { Int($0) },
                                                     healthPort: group["HealthCheckPort"]?.string, at: location).spec
                }
            }
            spec.hosts.append(host)
            made.append(host.name.value)
        }
        let server = spec.hosts.last?.server.map { " running \($0.kind.value) on \($0.port.value)" } ?? ""
        guesses.append("Auto Scaling group \(logical) is \(count) hosts (\(made.joined(separator: ", ")))\(server)"
                       + (count < wanted ? ", of its \(wanted)" : ", its capacity"))
        imported += 1
    }

    /// What a target group sends the resource: an appliance for GENEVE, HTTP on a TCP port.
    private func guessedServer(for logical: String) -> (spec: ServerSpec, what: String)? {
        for resource in resources where resource.type == "AWS::ElasticLoadBalancingV2::TargetGroup" {
            let props = properties(of: resource.logicalID.value)
            // By its Ref, or (target type ip) by its address.
            let address = properties(of: logical)["PrivateIpAddress"]?.string ?? designated[logical]
            guard (props["Targets"]?.list ?? []).contains(where: { target in
                let id = target["Id"]?.string
                return id == references[logical] || (id != nil && id == address)
            }) else { continue }
            let location = resource.node["Properties"]?.location ?? resource.logicalID.location
            return ServerSpec.guessed(targetProtocol: props["Protocol"]?.string ?? "TCP", port: props["Port"]?.string.flatMap { Int($0) },
                                      healthPort: props["HealthCheckPort"]?.string, at: location)
        }
        return nil
    }

    private func loadBalancer(_ logical: String, name: Located<String>, _ props: TemplateValue, at location: FilePosition) {
        let type = props["Type"]?.string ?? "application"
        guard type == "network" || type == "gateway" else {
            log.warning(location, "\(logical): an \(type) load balancer is not modelled (network and gateway are); skipped")
            skipped.append(logical)
            return
        }
        var subnets = names(props["Subnets"], ["AWS::EC2::Subnet"], field: "Subnets", of: logical, at: location)
        for mapping in props["SubnetMappings"]?.list ?? [] {
            if let subnet = self.name(mapping["SubnetId"], ["AWS::EC2::Subnet"], field: "SubnetMappings", of: logical, at: location) {
                subnets.append(subnet)
            }
        }
        var balancer = LoadBalancerSpec(name: name, type: Located(type, at: location), subnets: subnets)
        balancer.ipAddressType = text(props["IpAddressType"], at: location)
        balancer.securityGroups = names(props["SecurityGroups"], ["AWS::EC2::SecurityGroup"], field: "SecurityGroups", of: logical, at: location)
        for attribute in props["LoadBalancerAttributes"]?.list ?? []
        where attribute["Key"]?.string == "load_balancing.cross_zone.enabled" {
            balancer.crossZone = attribute["Value"]?.string.map { Located($0 == "true", at: location) }
        }
        spec.loadBalancers.append(balancer)
    }

    private func targetGroup(_ logical: String, name: Located<String>, _ props: TemplateValue, at location: FilePosition) {
        let proto = props["Protocol"]?.string?.uppercased() ?? "TCP"
        var group = TargetGroupSpec(name: name, protocolName: Located(proto, at: location))
        if proto != "GENEVE" { group.port = props["Port"]?.string.flatMap { Int($0) }.map { Located($0, at: location) } }
        group.targetType = text(props["TargetType"], at: location)
        group.ipAddressType = text(props["IpAddressType"], at: location)
        for target in props["Targets"]?.list ?? [] {
            // An instance, or (target type ip) the address of an instance or ENI of the template.
            let owner = target["Id"]?.string.flatMap { id in
                resources.first { ["AWS::EC2::Instance", "AWS::EC2::NetworkInterface"].contains($0.type)
                    && (properties(of: $0.logicalID.value)["PrivateIpAddress"]?.string ?? designated[$0.logicalID.value]) == id }
            }
            guard let host = owner.map({ Located(names[$0.logicalID.value]!, at: location) })
                    ?? self.name(target["Id"], ["AWS::EC2::Instance", "AWS::EC2::NetworkInterface"], field: "Targets",
                                 of: logical, at: location) else { continue }
            group.targets.append(TargetSpec(location: location, host: host,
                                            port: target["Port"]?.string.flatMap { Int($0) }.map { Located($0, at: location) }))
        }
        targetGroupAttributes(props["TargetGroupAttributes"]?.list ?? [], into: &group, at: location)
        if props["HealthCheckProtocol"] != nil || props["HealthCheckPort"] != nil || props["HealthCheckPath"] != nil {
            var check = HealthCheckSpec(location: location)
            check.protocolName = text(props["HealthCheckProtocol"], at: location)
            check.port = text(props["HealthCheckPort"], at: location)
            check.path = text(props["HealthCheckPath"], at: location)
            check.interval = props["HealthCheckIntervalSeconds"]?.string.flatMap { Int($0) }.map { Located($0, at: location) }
            check.timeout = props["HealthCheckTimeoutSeconds"]?.string.flatMap { Int($0) }.map { Located($0, at: location) }
            check.healthyThreshold = props["HealthyThresholdCount"]?.string.flatMap { Int($0) }.map { Located($0, at: location) }
            check.unhealthyThreshold = props["UnhealthyThresholdCount"]?.string.flatMap { Int($0) }.map { Located($0, at: location) }
            group.healthCheck = check
        }
        spec.targetGroups.append(group)
    }

    /// The attributes Privet models (ELBv2 target group attributes), by key.
    private func targetGroupAttributes(_ attributes: [TemplateValue], into group: inout TargetGroupSpec, at location: FilePosition) {
        var values: [String: String] = [:]
        for attribute in attributes {
            if let key = attribute["Key"]?.string, let value = attribute["Value"]?.string { values[key] = value }
        }
        func flag(_ key: String) -> Located<Bool>? { values[key].map { Located($0 == "true", at: location) } }
        group.deregistrationDelay = values["deregistration_delay.timeout_seconds"].flatMap { Int($0) }.map { Located($0, at: location) }
        group.proxyProtocolV2 = flag("proxy_protocol_v2.enabled")
        group.preserveClientIp = flag("preserve_client_ip.enabled")
        group.connectionTermination = flag("target_health_state.unhealthy.connection_termination.enabled")
        group.crossZone = values["load_balancing.cross_zone.enabled"].map { Located($0, at: location) }
        if values["stickiness.enabled"] == "true" {
            let kinds = ["source_ip_dest_ip": "2-tuple", "source_ip_dest_ip_proto": "3-tuple"]
            group.stickiness = values["stickiness.type"].flatMap { kinds[$0] }.flatMap { GatewayStickiness(rawValue: $0) }
                .map { Located($0, at: location) }
        }
        group.targetFailover = values["target_failover.on_unhealthy"].flatMap { TargetFailover(rawValue: $0) }.map { Located($0, at: location) }
    }

    private func listener(_ logical: String, _ props: TemplateValue, at location: FilePosition) {
        guard let balancer = name(props["LoadBalancerArn"], ["AWS::ElasticLoadBalancingV2::LoadBalancer"], field: "LoadBalancerArn",
                                  of: logical, at: location),
              let index = spec.loadBalancers.firstIndex(where: { $0.name.value == balancer.value }) else { return }
        let forward = (props["DefaultActions"]?.list ?? []).first { $0["Type"]?.string == "forward" }
        guard let group = name(forward?["TargetGroupArn"] ?? forward?["ForwardConfig"]?["TargetGroups"]?.list?.first?["TargetGroupArn"],
                               ["AWS::ElasticLoadBalancingV2::TargetGroup"], field: "DefaultActions", of: logical, at: location) else {
            log.warning(location, "\(logical): a listener needs a forward action to a target group of this template; skipped")
            skipped.append(logical)
            return
        }
        var listener = ListenerSpec(location: location, targetGroup: group)
        listener.protocolName = text(props["Protocol"], at: location)
        listener.port = props["Port"]?.string.flatMap { Int($0) }.map { Located($0, at: location) }
        spec.loadBalancers[index].listeners.append(listener)
        imported += 1
    }

    private func endpoint(_ logical: String, _ props: TemplateValue, at location: FilePosition) {
        guard let vpc = name(props["VpcId"], ["AWS::EC2::VPC"], field: "VpcId", of: logical, at: location) else { return }
        // CloudFormation's default type is Gateway.
        let type = props["VpcEndpointType"]?.string ?? "Gateway"
        var endpoint = EndpointSpec(name: Located(names[logical]!, at: location), type: Located(type, at: location), vpc: vpc)
        let serviceName = props["ServiceName"]?.string ?? ""
        // A service of this template: `com.amazonaws.vpce.REGION.vpce-svc-...`, by its ID.
        if let id = serviceName.split(separator: ".").last.map(String.init), let service = byReference[id],
           let index = byLogicalID[service], resources[index].type == "AWS::EC2::VPCEndpointService" {
            endpoint.service = Located(names[service]!, at: location)
            if spec.endpointServices.first(where: { $0.name.value == names[service]! })?.acceptanceRequired == true {
                endpoint.decision = Located("accepted", at: location)
                guesses.append("endpoint \(endpoint.name.value) accepted by its service's owner (the service requires acceptance)")
            }
        } else if type == "Gateway" && !serviceName.isEmpty {
            endpoint.serviceName = Located(serviceName, at: location)
        } else if !serviceName.isEmpty {
            // Interface and GWLB endpoints reach the endpoint services of the topology only.
            log.warning(location, "\(logical): the \(type) endpoint's service \(serviceName) is not in this template "
                        + "(an AWS service's, or another stack's); skipped")
            skipped.append(logical)
            return
        } else {
            log.warning(location, "\(logical): an endpoint needs ServiceName; skipped")
            skipped.append(logical)
            return
        }
        endpoint.subnets = names(props["SubnetIds"], ["AWS::EC2::Subnet"], field: "SubnetIds", of: logical, at: location)
            .map { SubnetConfigurationSpec(subnet: $0) }
        endpoint.securityGroups = names(props["SecurityGroupIds"], ["AWS::EC2::SecurityGroup"], field: "SecurityGroupIds",
                                        of: logical, at: location)
        endpoint.routeTables = names(props["RouteTableIds"], ["AWS::EC2::RouteTable"], field: "RouteTableIds", of: logical, at: location)
        endpoint.privateDnsEnabled = props["PrivateDnsEnabled"]?.string.map { Located($0 == "true", at: location) }
        endpoint.ipAddressType = text(props["IpAddressType"], at: location)
        spec.endpoints.append(endpoint)
        imported += 1
    }

    /// The zone an AZ ID stands for, by the rule `zonesUsed` gives IDs (`use1-az2`: `us-east-1b`).
    private func zoneName(ofID id: String) -> String? {
        guard let number = id.split(separator: "-").last.flatMap({ Int($0.dropFirst(2)) }), (1...26).contains(number) else { return nil }
        return spec.region.value + String(UnicodeScalar(UInt8(96 + number)))
    }

    /// The zones the subnets name, each with an AZ ID (`use1-az1` for `us-east-1a`: the region's
    /// initials and number, the letter's place; AWS maps letters to IDs per account, a guess).
    private func zonesUsed() {
        let used = Set(spec.subnets.map(\.zone.value))
        let region = spec.region.value
        let initials = region.split(separator: "-").map { $0.first.map(String.init) ?? "" }
        let short = region.split(separator: "-").count == 3
            ? String(region.prefix(2)) + initials[1] + String(region.split(separator: "-")[2]) : region
        for zone in used.sorted() {
            let letter = zone.last.map { Int($0.asciiValue ?? 97) - 96 } ?? 1
            let at = FilePosition(line: 1, column: 1)
            spec.zones.append(ZoneSpec(name: Located(zone, at: at), id: Located("\(short)-az\(letter)", at: at)))
        }
        if !used.isEmpty { guesses.append("zone IDs \(spec.zones.map { "\($0.name.value)=\($0.id.value)" }.joined(separator: ", "))") }
    }
}
