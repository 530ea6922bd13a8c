/// `privet import aws`: a snapshot of an account, the JSON of the AWS CLI's `describe-*`
/// commands, as a topology that keeps the real IDs, names (Name tags) and addresses, so that
/// `describe` and the API of `up` name the same resources as the account does.
public struct AWSSnapshotImport {
    public init() {}

    public func run(directory: String) -> TopologyImport {
        let files = SnapshotFiles(directory: directory)
        var builder = SnapshotBuilder(files: files)
        builder.build()
        var result = TopologyImport()
        result.notes = files.notes + builder.notes
        result.guesses = builder.guesses
        result.imported = builder.imported
        result.skipped = builder.skipped
        result.spec = builder.spec.vpcs.isEmpty ? nil : builder.spec
        if result.spec == nil { result.notes.append("no VPC in describe-vpcs.json: nothing to import") }
        return result
    }
}

/// The snapshot's resources as a spec, each named by its Name tag where that makes a good and
/// unique name, else by its ID.
struct SnapshotBuilder {
    let files: SnapshotFiles
    var spec: TopologySpec
    var guesses: [String] = []
    var notes: [String] = []
    var imported = 0
    var skipped: [String] = []
    /// Names by ID (VPCs, subnets, groups, route tables, instances, endpoints, services) and ARN
    /// (load balancers, target groups).
    private var names: [String: String] = [:]
    private var taken: Set<String> = []
    private let at = FilePosition(line: 1, column: 1)

    init(files: SnapshotFiles) {
        self.files = files
        let region = files.items("describe-availability-zones", "AvailabilityZones").first?.string("RegionName")
            ?? files.items("describe-subnets", "Subnets").first?.string("AvailabilityZone").map { String($0.dropLast()) }
            ?? "us-east-1"
        spec = TopologySpec(region: Located(region, at: FilePosition(line: 1, column: 1)))
    }

    private func located(_ text: String?) -> Located<String>? { text.map { Located($0, at: at) } }

    /// A name for the resource of `id`, from its Name tag when that is a good name not taken in
    /// `kind`, else the ID.
    private mutating func name(_ id: String, tag: String?, kind: String) -> Located<String> {
        var chosen = id
        if let tag, !tag.isEmpty, tag.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }),
           !taken.contains(kind + "/" + tag) {
            chosen = tag
        }
        taken.insert(kind + "/" + chosen)
        names[id] = chosen
        return Located(chosen, at: at)
    }

    private func named(_ id: String?) -> Located<String>? { id.flatMap { names[$0] }.map { Located($0, at: at) } }

    mutating func build() {
        zonesAndAccounts()
        for vpc in files.items("describe-vpcs", "Vpcs") {
            guard let id = vpc.string("VpcId"), let cidr = vpc.string("CidrBlock") else { continue }
            var model = VPCSpec(name: name(id, tag: vpc.nameTag, kind: "vpc"), id: located(id), cidr: Located(cidr, at: at))
            model.account = vpc.string("OwnerId").flatMap { owner in spec.accounts.first { $0.id.value == owner }?.name }
            model.ipv6Cidr = located(vpc.items("Ipv6CidrBlockAssociationSet").first?.string("Ipv6CidrBlock"))
            spec.vpcs.append(model)
            imported += 1
        }
        for subnet in files.items("describe-subnets", "Subnets") {
            guard let id = subnet.string("SubnetId"), let vpc = named(subnet.string("VpcId")),
                  let zone = subnet.string("AvailabilityZone") else { continue }
            var model = SubnetSpec(name: name(id, tag: subnet.nameTag, kind: "subnet"), id: located(id), vpc: vpc,
                                   zone: Located(zone, at: at), cidr: located(subnet.string("CidrBlock")))
            model.ipv6Cidr = located(subnet.items("Ipv6CidrBlockAssociationSet").first?.string("Ipv6CidrBlock"))
            spec.subnets.append(model)
            imported += 1
        }
        // Endpoints are named before routes name them.
        for endpoint in files.items("describe-vpc-endpoints", "VpcEndpoints") {
            if let id = endpoint.string("VpcEndpointId") { _ = name(id, tag: endpoint.nameTag, kind: "endpoint") }
        }
        routeTables()
        managedPrefixLists()
        securityGroups()
        hosts()
        loadBalancing()
        endpointServices()
        endpoints()
        spec.addOutsideWorld(guesses: &guesses)
    }

    private mutating func zonesAndAccounts() {
        var zones: [(String, String)] = files.items("describe-availability-zones", "AvailabilityZones").compactMap { zone in
            guard let name = zone.string("ZoneName"), let id = zone.string("ZoneId") else { return nil }
            return (name, id)
        }
        if zones.isEmpty {
            // describe-subnets names each subnet's zone ID too.
            var seen: Set<String> = []
            for subnet in files.items("describe-subnets", "Subnets") {
                guard let name = subnet.string("AvailabilityZone"), let id = subnet.string("AvailabilityZoneId"),
                      seen.insert(name).inserted else { continue }
                zones.append((name, id))
            }
        }
        spec.zones = zones.map { ZoneSpec(name: Located($0.0, at: at), id: Located($0.1, at: at)) }
        var owners: [String] = []
        for owner in files.items("describe-vpcs", "Vpcs").compactMap({ $0.string("OwnerId") })
            + files.items("describe-vpc-endpoints", "VpcEndpoints").compactMap({ $0.string("OwnerId") })
        where !owners.contains(owner) {
            owners.append(owner)
        }
        spec.accounts = owners.map { AccountSpec(name: Located("account-\($0)", at: at), id: Located($0, at: at)) }
    }

    private mutating func routeTables() {
        let tables = files.items("describe-route-tables", "RouteTables")
        // Subnets with a table of their own; the others use their VPC's main table.
        let associated = Set(tables.flatMap { $0.items("Associations").compactMap { $0.string("SubnetId") } })
        for table in tables {
            guard let id = table.string("RouteTableId"), let vpc = named(table.string("VpcId")) else { continue }
            let associations = table.items("Associations")
            let isMain = associations.contains { $0.bool("Main") == true }
            var model = RouteTableSpec(name: name(id, tag: table.nameTag, kind: "routeTable"), id: located(id), vpc: vpc)
            for route in table.items("Routes") {
                let gateway = route.string("GatewayId") ?? ""
                if gateway == "local" { continue }
                // A route whose target is gone drops its traffic in AWS; here it is left out.
                if route.string("State") == "blackhole" {
                    notes.append("describe-route-tables.json: \(id): a blackhole route to \(route.string("DestinationCidrBlock") ?? "a destination") is left out")
                    continue
                }
                // A gateway endpoint's routes (to its service's prefix list) are made from the
                // endpoint's route tables.
                if gateway.hasPrefix("vpce-") && route["DestinationPrefixListId"] != nil { continue }
                guard let destination = route.string("DestinationCidrBlock") ?? route.string("DestinationIpv6CidrBlock")
                        ?? route.string("DestinationPrefixListId") else { continue }
                let target: String
                if gateway.hasPrefix("igw-") {
                    target = "internetGateway"
                    internetGateway(gateway, vpc: vpc.value)
                } else if let endpoint = (route.string("VpcEndpointId") ?? (gateway.hasPrefix("vpce-") ? gateway : nil)).flatMap({ names[$0] }) {
                    // A GWLB endpoint: describe-route-tables gives its ID as the gateway.
                    target = endpoint
                } else {
                    let kind = ["NatGatewayId", "TransitGatewayId", "VpcPeeringConnectionId", "InstanceId", "NetworkInterfaceId",
                                "EgressOnlyInternetGatewayId", "CarrierGatewayId", "LocalGatewayId"].first { route[$0] != nil } ?? "its target"
                    notes.append("describe-route-tables.json: \(id): the route to \(destination) by \(kind) is not modelled; skipped")
                    skipped.append("route \(destination) of \(id)")
                    continue
                }
                model.routes.append(RouteSpec(location: at, destination: Located(destination, at: at), target: Located(target, at: at)))
            }
            // A main table with nothing but its local route is the VPC's own (Privet makes it).
            if isMain && model.routes.isEmpty && !associations.contains(where: { $0.string("GatewayId") != nil }) { continue }
            spec.routeTables.append(model)
            imported += 1
            for association in associations {
                if let subnet = association.string("SubnetId").flatMap({ names[$0] }),
                   let index = spec.subnets.firstIndex(where: { $0.name.value == subnet }) {
                    spec.subnets[index].routeTable = model.name
                }
                if let gateway = association.string("GatewayId"), gateway.hasPrefix("igw-") {
                    internetGateway(gateway, vpc: vpc.value)
                    if let index = spec.vpcs.firstIndex(where: { $0.name.value == vpc.value }) {
                        spec.vpcs[index].internetGateway?.edgeRouteTable = model.name
                    }
                }
            }
            if isMain {
                // Subnets with no table of their own use the main one.
                for index in spec.subnets.indices where spec.subnets[index].vpc.value == vpc.value
                    && !associated.contains(spec.subnets[index].id?.value ?? "") {
                    spec.subnets[index].routeTable = model.name
                }
            }
        }
    }

    private mutating func internetGateway(_ id: String, vpc: String) {
        guard let index = spec.vpcs.firstIndex(where: { $0.name.value == vpc }), spec.vpcs[index].internetGateway == nil else { return }
        spec.vpcs[index].internetGateway = InternetGatewaySpec(location: at, id: located(id))
    }

    /// AWS's own lists that gateway endpoints and rules use; their entries are not in the
    /// snapshot and are guessed.
    private mutating func managedPrefixLists() {
        for list in files.items("describe-managed-prefix-lists", "PrefixLists") {
            guard let id = list.string("PrefixListId"), let name = list.string("PrefixListName"), name.hasPrefix("com.amazonaws.") else { continue }
            let ranges = PrefixListSpec.guessedRanges(name)
            spec.prefixLists.append(PrefixListSpec(id: Located(id, at: at), name: Located(name, at: at), cidrs: ranges.map { Located($0, at: at) }))
            guesses.append("prefix list \(id) of \(name) holds \(ranges.joined(separator: ", ")) (its entries are not in the snapshot)")
            imported += 1
        }
    }

    private mutating func securityGroups() {
        let groups = files.items("describe-security-groups", "SecurityGroups")
        for group in groups {
            guard let id = group.string("GroupId") else { continue }
            // Group names are unique per VPC (every VPC has its `default`).
            _ = name(id, tag: group.string("GroupName"), kind: "securityGroup/" + (group.string("VpcId") ?? ""))
        }
        for group in groups {
            guard let id = group.string("GroupId"), let vpc = named(group.string("VpcId")) else { continue }
            var model = SecurityGroupSpec(name: Located(names[id]!, at: at), id: located(id), vpc: vpc)
            var ingress: [RuleSpec] = [], egress: [RuleSpec] = []
            for permission in group.items("IpPermissions") { ingress += rules(permission) }
            for permission in group.items("IpPermissionsEgress") { egress += rules(permission) }
            model.ingress = ingress
            // AWS's default egress (everything to everywhere) is what an absent list means.
            let isDefault = egress.count == 1 && egress[0].protocolName.value == "all" && egress[0].cidr?.value == "0.0.0.0/0"
            if !isDefault { model.egress = egress }
            spec.securityGroups.append(model)
            imported += 1
        }
    }

    /// One permission of a group: a rule for each peer it lists (a customer-managed prefix
    /// list, whose entries the snapshot does not hold, is noted and left out).
    private mutating func rules(_ permission: [String: Any]) -> [RuleSpec] {
        let protocols = ["-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"]
        guard let given = permission.string("IpProtocol")?.lowercased() else { return [] }
        let proto = Located(protocols[given] ?? given, at: at)
        var ports: Located<String>?
        if proto.value == "tcp" || proto.value == "udp", let from = permission.int("FromPort"), let to = permission.int("ToPort"), from >= 0 {
            ports = Located(from == to ? "\(from)" : "\(from)-\(to)", at: at)
        }
        var result: [RuleSpec] = []
        for range in permission.items("IpRanges") {
            if let cidr = range.string("CidrIp") { result.append(RuleSpec(location: at, protocolName: proto, ports: ports, cidr: located(cidr))) }
        }
        for range in permission.items("Ipv6Ranges") {
            if let cidr = range.string("CidrIpv6") { result.append(RuleSpec(location: at, protocolName: proto, ports: ports, cidr: located(cidr))) }
        }
        for pair in permission.items("UserIdGroupPairs") {
            if let group = named(pair.string("GroupId")) {
                result.append(RuleSpec(location: at, protocolName: proto, ports: ports, securityGroup: group))
            }
        }
        for list in permission.items("PrefixListIds") {
            guard let id = list.string("PrefixListId") else { continue }
            if spec.prefixLists.contains(where: { $0.id.value == id }) {
                result.append(RuleSpec(location: at, protocolName: proto, ports: ports, prefixList: located(id)))
            } else {
                notes.append("describe-security-groups.json: a rule from prefix list \(id) is left out (its entries are not in the snapshot)")
            }
        }
        return result
    }

    /// Instances, each a host with its subnet, groups and addresses; what it serves is guessed
    /// from the target groups that send it traffic.
    private mutating func hosts() {
        let instances = files.items("describe-instances", "Reservations").flatMap { $0.items("Instances") }
        for instance in instances {
            guard let id = instance.string("InstanceId") else { continue }
            let state = (instance["State"] as? [String: Any])?.string("Name") ?? "running"
            guard state != "terminated" && state != "shutting-down" else {
                skipped.append("\(id) (\(state))")
                continue
            }
            guard let subnet = named(instance.string("SubnetId")) else {
                notes.append("describe-instances.json: \(id): its subnet is not in describe-subnets.json; skipped")
                skipped.append(id)
                continue
            }
            var host = HostSpec(name: name(id, tag: instance.nameTag, kind: "host"), subnet: subnet)
            host.id = located(id)
            let ipv6 = instance.string("Ipv6Address") ?? instance.items("NetworkInterfaces").first?.items("Ipv6Addresses").first?.string("Ipv6Address")
            host.addresses = [instance.string("PrivateIpAddress"), ipv6].compactMap { located($0) }
            host.securityGroups = instance.items("SecurityGroups").compactMap { named($0.string("GroupId")) }
            if instance.bool("SourceDestCheck") == false { host.sourceDestCheck = false }
            spec.hosts.append(host)
            imported += 1
        }
    }

    /// The target groups, whose targets are the hosts of their instance IDs or addresses.
    private mutating func loadBalancing() {
        let groups = files.items("describe-target-groups", "TargetGroups")
        let health = files.documents("describe-target-health")
        for (index, group) in groups.enumerated() {
            guard let arn = group.string("TargetGroupArn"), let groupName = group.string("TargetGroupName") else { continue }
            let proto = group.string("Protocol") ?? "TCP"
            var model = TargetGroupSpec(name: name(arn, tag: groupName, kind: "targetGroup"), protocolName: Located(proto, at: at))
            if proto != "GENEVE" { model.port = group.int("Port").map { Located($0, at: at) } }
            model.targetType = located(group.string("TargetType"))
            model.ipAddressType = located(group.string("IpAddressType"))
            var check = HealthCheckSpec(location: at)
            check.protocolName = located(group.string("HealthCheckProtocol"))
            check.port = located(group.string("HealthCheckPort"))
            check.path = located(group.string("HealthCheckPath"))
            check.interval = group.int("HealthCheckIntervalSeconds").map { Located($0, at: at) }
            check.timeout = group.int("HealthCheckTimeoutSeconds").map { Located($0, at: at) }
            check.healthyThreshold = group.int("HealthyThresholdCount").map { Located($0, at: at) }
            check.unhealthyThreshold = group.int("UnhealthyThresholdCount").map { Located($0, at: at) }
            model.healthCheck = check
            // Its describe-target-health output: the one naming it, else the one in its place.
            let output = health.first { $0.string("TargetGroupArn") == arn } ?? (health.indices.contains(index) ? health[index] : nil)
            for description in output?.items("TargetHealthDescriptions") ?? [] {
                guard let target = description["Target"] as? [String: Any], let targetID = target.string("Id") else { continue }
                guard let hostIndex = spec.hosts.firstIndex(where: { host in
                    names[targetID] == host.name.value || host.addresses.contains { $0.value == targetID }
                }) else {
                    notes.append("describe-target-health.json: target \(targetID) of \(groupName) is no instance of the snapshot; skipped")
                    continue
                }
                let port = target.int("Port")
                model.targets.append(TargetSpec(location: at, host: spec.hosts[hostIndex].name,
                                                port: port == model.port?.value ? nil : port.map { Located($0, at: at) }))
                if spec.hosts[hostIndex].server == nil {
                    let server = ServerSpec.guessed(targetProtocol: proto, port: port ?? model.port?.value,
                                                    healthPort: group.string("HealthCheckPort"), at: at)
                    spec.hosts[hostIndex].server = server.spec
                    guesses.append("host \(spec.hosts[hostIndex].name.value) runs \(server.what)")
                }
            }
            spec.targetGroups.append(model)
            imported += 1
        }
        for balancer in files.items("describe-load-balancers", "LoadBalancers") {
            guard let arn = balancer.string("LoadBalancerArn"), let balancerName = balancer.string("LoadBalancerName") else { continue }
            let type = balancer.string("Type") ?? "application"
            guard type == "network" || type == "gateway" else {
                notes.append("describe-load-balancers.json: \(balancerName): an \(type) load balancer is not modelled; skipped")
                skipped.append(balancerName)
                continue
            }
            let subnets = balancer.items("AvailabilityZones").compactMap { named($0.string("SubnetId")) }
            var model = LoadBalancerSpec(name: name(arn, tag: balancerName, kind: "loadBalancer"), type: Located(type, at: at), subnets: subnets)
            model.ipAddressType = located(balancer.string("IpAddressType"))
            model.securityGroups = balancer.strings("SecurityGroups").compactMap { named($0) }
            for listener in files.items("describe-listeners", "Listeners") where listener.string("LoadBalancerArn") == arn {
                let action = listener.items("DefaultActions").first { $0.string("Type") == "forward" }
                let groupARN = action?.string("TargetGroupArn")
                    ?? ((action?["ForwardConfig"] as? [String: Any])?.items("TargetGroups").first?.string("TargetGroupArn"))
                guard let group = named(groupARN) else { continue }
                var model2 = ListenerSpec(location: at, targetGroup: group)
                model2.protocolName = located(listener.string("Protocol"))
                model2.port = listener.int("Port").map { Located($0, at: at) }
                model.listeners.append(model2)
            }
            spec.loadBalancers.append(model)
            imported += 1
        }
    }

    private mutating func endpointServices() {
        let connections = files.items("describe-vpc-endpoint-connections", "VpcEndpointConnections")
        for service in files.items("describe-vpc-endpoint-service-configurations", "ServiceConfigurations") {
            guard let id = service.string("ServiceId") else { continue }
            let balancers = (service.strings("NetworkLoadBalancerArns") + service.strings("GatewayLoadBalancerArns")).compactMap { named($0) }
            var model = EndpointServiceSpec(name: name(id, tag: service.nameTag, kind: "service"), id: located(id), loadBalancers: balancers)
            // The service's account is its load balancer's (the outputs name no owner).
            model.account = balancers.first.flatMap { balancer in spec.loadBalancers.first { $0.name.value == balancer.value } }?
                .subnets.first.flatMap { subnet in spec.subnets.first { $0.name.value == subnet.value } }
                .flatMap { subnet in spec.vpcs.first { $0.name.value == subnet.vpc.value }?.account }
            model.acceptanceRequired = service.bool("AcceptanceRequired") ?? false
            model.privateDnsName = located(service.string("PrivateDnsName"))
            if let state = (service["PrivateDnsNameConfiguration"] as? [String: Any])?.string("State") {
                model.privateDnsNameVerification = located(state)
            }
            model.supportedIpAddressTypes = service.strings("SupportedIpAddressTypes").map { Located($0, at: at) }
            // Who may connect is not in these outputs (describe-vpc-endpoint-service-permissions):
            // every account with a connection was allowed.
            var owners: [String] = []
            for connection in connections where connection.string("ServiceId") == id {
                if let owner = connection.string("VpcEndpointOwner"), !owners.contains(owner) { owners.append(owner) }
            }
            model.allowedPrincipals = owners.map { Located("arn:aws:iam::\($0):root", at: at) }
            if !owners.isEmpty {
                guesses.append("service \(model.name.value) allows \(owners.map { "arn:aws:iam::\($0):root" }.joined(separator: ", ")) (the accounts connected to it)")
            }
            names[service.string("ServiceName") ?? id] = model.name.value
            spec.endpointServices.append(model)
            imported += 1
        }
    }

    private mutating func endpoints() {
        let connections = files.items("describe-vpc-endpoint-connections", "VpcEndpointConnections")
        let interfaces = files.items("describe-network-interfaces", "NetworkInterfaces")
        for endpoint in files.items("describe-vpc-endpoints", "VpcEndpoints") {
            guard let id = endpoint.string("VpcEndpointId"), let vpc = named(endpoint.string("VpcId")),
                  let type = endpoint.string("VpcEndpointType"), let serviceName = endpoint.string("ServiceName") else { continue }
            var model = EndpointSpec(name: Located(names[id] ?? id, at: at), id: located(id), type: Located(type, at: at), vpc: vpc)
            if let service = names[serviceName] {
                model.service = Located(service, at: at)
            } else if type == "Gateway" {
                model.serviceName = Located(serviceName, at: at)
            } else {
                // Interface and GWLB endpoints reach the endpoint services of the topology only.
                notes.append("describe-vpc-endpoints.json: \(id): its service \(serviceName) is not in the snapshot "
                             + "(an AWS service's, or another account's); skipped")
                skipped.append(id)
                continue
            }
            // Each ENI's address, as the endpoint has it.
            let eniIDs = endpoint.strings("NetworkInterfaceIds")
            model.subnets = endpoint.strings("SubnetIds").compactMap { subnetID in
                guard let subnet = named(subnetID) else { return nil }
                let eni = interfaces.first { eniIDs.contains($0.string("NetworkInterfaceId") ?? "") && $0.string("SubnetId") == subnetID }
                return SubnetConfigurationSpec(subnet: subnet, ipv4: located(eni?.string("PrivateIpAddress")),
                                               ipv6: located(eni?.items("Ipv6Addresses").first?.string("Ipv6Address")))
            }
            model.securityGroups = endpoint.items("Groups").compactMap { named($0.string("GroupId")) }
            model.routeTables = endpoint.strings("RouteTableIds").compactMap { named($0) }
            model.privateDnsEnabled = endpoint.bool("PrivateDnsEnabled").map { Located($0, at: at) }
            model.ipAddressType = located(endpoint.string("IpAddressType"))
            if let owner = endpoint.string("OwnerId") { model.principal = Located("arn:aws:iam::\(owner):root", at: at) }
            let state = connections.first { $0.string("VpcEndpointId") == id }?.string("VpcEndpointState") ?? endpoint.string("State")
            switch state?.lowercased() {
            case "pendingacceptance": model.decision = Located("none", at: at)
            case "rejected": model.decision = Located("rejected", at: at)
            // Accepted by its owner; a service that needs no acceptance accepted it by itself.
            case "available" where spec.endpointServices.first(where: { $0.name.value == model.service?.value })?.acceptanceRequired == true:
                model.decision = Located("accepted", at: at)
            default: break
            }
            spec.endpoints.append(model)
            imported += 1
        }
    }
}
