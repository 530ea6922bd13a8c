import Topology

/// The EC2 actions of the subset (API version 2016-11-15): responses in EC2's XML, lists as
/// `...Set` of `item`, the resources' IDs, names and states as `describe` gives them. Each
/// resource carries its Privet name as its `Name` tag.
enum EC2Actions {
    static let names: Set<String> = [
        "DescribeAvailabilityZones", "DescribeVpcs", "DescribeSubnets", "DescribeVpcEndpoints",
        "DescribeVpcEndpointConnections", "AcceptVpcEndpointConnections", "RejectVpcEndpointConnections",
        "DescribeRouteTables", "DescribeSecurityGroups", "DescribeNetworkInterfaces", "DescribePrefixLists",
        "DescribeManagedPrefixLists", "DescribeVpcEndpointServices", "DescribeVpcEndpointServiceConfigurations",
        "DescribeVpcEndpointServicePermissions", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "CreateRoute", "ReplaceRoute", "DeleteRoute",
        "CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints", "CreateVpcEndpointServiceConfiguration",
        "ModifyVpcEndpointServiceConfiguration", "ModifyVpcEndpointServicePermissions", "DeleteVpcEndpointServiceConfigurations",
        "CreateTags", "DeleteTags", "DescribeTags", "DescribeInstances",
    ]

    typealias Outcome = Result<(inout XMLWriter) -> Void, APIError>

    static func run(_ action: String, _ context: inout ActionContext) -> Outcome {
        do {
            switch action {
            case "DescribeAvailabilityZones": return .success(try availabilityZones(context))
            case "DescribeVpcs": return .success(try vpcs(context))
            case "DescribeSubnets": return .success(try subnets(context))
            case "DescribeVpcEndpoints": return .success(try vpcEndpoints(context))
            case "DescribeVpcEndpointConnections": return .success(try connections(context))
            case "DescribeRouteTables": return .success(try routeTables(context))
            case "DescribeSecurityGroups": return .success(try securityGroups(context))
            case "DescribeNetworkInterfaces": return .success(try networkInterfaces(context))
            case "DescribePrefixLists": return .success(try prefixLists(context, managed: false))
            case "DescribeManagedPrefixLists": return .success(try prefixLists(context, managed: true))
            case "DescribeVpcEndpointServices": return .success(try endpointServices(context))
            case "DescribeVpcEndpointServiceConfigurations": return .success(try serviceConfigurations(context))
            case "DescribeVpcEndpointServicePermissions": return .success(try servicePermissions(context))
            case "AuthorizeSecurityGroupIngress": return .success(try changeRules(ingress: true, adding: true, &context))
            case "AuthorizeSecurityGroupEgress": return .success(try changeRules(ingress: false, adding: true, &context))
            case "RevokeSecurityGroupIngress": return .success(try changeRules(ingress: true, adding: false, &context))
            case "RevokeSecurityGroupEgress": return .success(try changeRules(ingress: false, adding: false, &context))
            case "CreateRoute": return .success(try changeRoute("create", &context))
            case "ReplaceRoute": return .success(try changeRoute("replace", &context))
            case "DeleteRoute": return .success(try changeRoute("delete", &context))
            case "CreateVpcEndpoint": return .success(try createEndpoint(&context))
            case "ModifyVpcEndpoint": return .success(try modifyEndpoint(&context))
            case "DeleteVpcEndpoints": return .success(try deleteEndpoints(&context))
            case "CreateVpcEndpointServiceConfiguration": return .success(try createService(&context))
            case "ModifyVpcEndpointServiceConfiguration": return .success(try modifyService(&context))
            case "ModifyVpcEndpointServicePermissions": return .success(try modifyPermissions(&context))
            case "DeleteVpcEndpointServiceConfigurations": return .success(try deleteServices(&context))
            case "CreateTags": return .success(try createTags(&context))
            case "DeleteTags": return .success(try deleteTags(&context))
            case "DescribeTags": return .success(try describeTags(context))
            case "DescribeInstances": return .success(try instances(context))
            case "AcceptVpcEndpointConnections": return .success(try decide(.accept, &context))
            case "RejectVpcEndpointConnections": return .success(try decide(.reject, &context))
            default: return .failure(APIError(.unsupportedOperation, "Privet does not implement the EC2 action \(action)"))
            }
        } catch {
            return .failure(error)
        }
    }

    /// A resource's `tagSet`: its name as the `Name` tag, then its other tags.
    static func tagSet(_ xml: inout XMLWriter, _ name: String, _ tags: [Tag]) {
        xml.list("tagSet", member: "item", [Tag(key: "Name", value: name)] + tags) { xml, tag in
            xml.value("key", tag.key)
            xml.value("value", tag.value)
        }
    }

    /// The tags a filter reads: `Name` and the others.
    static func tagValues(_ name: String, _ tags: [Tag]) -> [String: String] {
        var values = ["Name": name]
        for tag in tags { values[tag.key] = tag.value }
        return values
    }

    /// The resources `ids` names (all when none), or the NotFound error of the first unknown.
    static func selected<Element>(_ all: [Element], ids: [String], id: (Element) -> String,
                                          notFound: APIError.Code, kind: String) throws(APIError) -> [Element] {
        guard !ids.isEmpty else { return all }
        for wanted in ids where !all.contains(where: { id($0) == wanted }) {
            throw APIError(notFound, "The \(kind) ID '\(wanted)' does not exist")
        }
        return all.filter { ids.contains(id($0)) }
    }

    static func page<Element>(_ all: [Element], _ context: ActionContext) throws(APIError) -> Page<Element> {
        try Page(all, size: context.request.parameters["MaxResults"], token: context.request.parameters["NextToken"],
                 smallest: 5, largest: 1000)
    }

    // MARK: Reads

    static func availabilityZones(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["zone-name", "zone-id", "region-name", "state", "zone-type"])
        let names = context.request.list("ZoneName"), ids = context.request.list("ZoneId")
        let zones = topology.zones.filter { zone in
            (names.isEmpty || names.contains(zone.name)) && (ids.isEmpty || ids.contains(zone.id))
                && filters.admit(["zone-name": [zone.name], "zone-id": [zone.id], "region-name": [topology.region],
                                  "state": ["available"], "zone-type": ["availability-zone"]])
        }
        for name in names where !topology.zones.contains(where: { $0.name == name }) {
            throw APIError(.invalidParameterValue, "Invalid availability zone: [\(name)]")
        }
        return { xml in
            xml.list("availabilityZoneInfo", member: "item", zones) { xml, zone in
                xml.value("zoneName", zone.name)
                xml.value("zoneId", zone.id)
                xml.value("zoneState", "available")
                xml.value("regionName", topology.region)
                xml.value("zoneType", "availability-zone")
                xml.value("optInStatus", "opt-in-not-required")
                xml.value("groupName", topology.region)
                xml.value("networkBorderGroup", topology.region)
            }
        }
    }

    static func vpcs(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["vpc-id", "cidr", "cidr-block-association.cidr-block", "owner-id",
                                                           "state", "is-default"])
        let chosen = try selected(topology.vpcs, ids: context.request.list("VpcId"), id: \.id, notFound: .vpcNotFound, kind: "vpc")
            .filter { vpc in
                filters.admit(["vpc-id": [vpc.id], "cidr": ["\(vpc.cidr)"], "cidr-block-association.cidr-block": ["\(vpc.cidr)"],
                               "owner-id": [vpc.accountID], "state": ["available"], "is-default": ["false"]],
                              tags: tagValues(vpc.name, vpc.tags))
            }
        let page = try page(chosen, context)
        return { xml in
            xml.list("vpcSet", member: "item", page.elements) { xml, vpc in
                xml.value("vpcId", vpc.id)
                xml.value("ownerId", vpc.accountID)
                xml.value("state", "available")
                xml.value("cidrBlock", "\(vpc.cidr)")
                xml.list("cidrBlockAssociationSet", member: "item", [vpc.cidr]) { xml, cidr in
                    xml.value("cidrBlock", "\(cidr)")
                    xml.element("cidrBlockState") { $0.value("state", "associated") }
                }
                if let ipv6 = vpc.ipv6Cidr {
                    xml.list("ipv6CidrBlockAssociationSet", member: "item", [ipv6]) { xml, cidr in
                        xml.value("ipv6CidrBlock", "\(cidr)")
                        xml.element("ipv6CidrBlockState") { $0.value("state", "associated") }
                    }
                }
                xml.value("instanceTenancy", "default")
                xml.value("isDefault", false)
                tagSet(&xml, vpc.name, vpc.tags)
            }
            xml.value("nextToken", page.next)
        }
    }

    static func subnets(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["subnet-id", "vpc-id", "availability-zone", "availability-zone-id",
                                                           "cidr-block", "owner-id", "state"])
        let chosen = try selected(topology.subnets, ids: context.request.list("SubnetId"), id: \.id,
                                  notFound: .subnetNotFound, kind: "subnet")
            .filter { subnet in
                let zone = topology[subnet.zone], vpc = topology[subnet.vpc]
                return filters.admit(["subnet-id": [subnet.id], "vpc-id": [vpc.id], "availability-zone": [zone.name],
                                      "availability-zone-id": [zone.id], "cidr-block": subnet.cidr.map { ["\($0)"] } ?? [],
                                      "owner-id": [vpc.accountID], "state": ["available"]],
                                     tags: tagValues(subnet.name, subnet.tags))
            }
        let page = try page(chosen, context)
        return { xml in
            xml.list("subnetSet", member: "item", page.elements) { xml, subnet in
                let zone = topology[subnet.zone], vpc = topology[subnet.vpc]
                xml.value("subnetId", subnet.id)
                xml.value("subnetArn", "arn:aws:ec2:\(topology.region):\(vpc.accountID):subnet/\(subnet.id)")
                xml.value("state", "available")
                xml.value("vpcId", vpc.id)
                xml.value("ownerId", vpc.accountID)
                xml.value("cidrBlock", subnet.cidr.map { "\($0)" })
                if let ipv6 = subnet.ipv6Cidr {
                    xml.list("ipv6CidrBlockAssociationSet", member: "item", [ipv6]) { xml, cidr in
                        xml.value("ipv6CidrBlock", "\(cidr)")
                        xml.element("ipv6CidrBlockState") { $0.value("state", "associated") }
                    }
                }
                xml.value("availabilityZone", zone.name)
                xml.value("availabilityZoneId", zone.id)
                xml.value("defaultForAz", false)
                xml.value("mapPublicIpOnLaunch", false)
                xml.value("ipv6Native", subnet.cidr == nil)
                tagSet(&xml, subnet.name, subnet.tags)
            }
            xml.value("nextToken", page.next)
        }
    }

    static func vpcEndpoints(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["vpc-endpoint-id", "vpc-id", "service-name", "vpc-endpoint-state",
                                                           "vpc-endpoint-type", "ip-address-type"])
        let chosen = try selected(topology.endpoints, ids: context.request.list("VpcEndpointId"), id: \.id,
                                  notFound: .vpcEndpointNotFound, kind: "vpcEndpoint")
            .filter { endpoint in
                filters.admit(["vpc-endpoint-id": [endpoint.id], "vpc-id": [topology[endpoint.vpc].id],
                               "service-name": [endpoint.serviceName], "vpc-endpoint-state": [endpoint.state.rawValue],
                               "vpc-endpoint-type": [endpoint.kind.rawValue], "ip-address-type": [endpoint.ipAddressType]],
                              tags: tagValues(endpoint.name, endpoint.tags))
            }
        let page = try page(chosen, context)
        let created = context.creationTime
        return { xml in
            xml.list("vpcEndpointSet", member: "item", page.elements) { xml, endpoint in
                endpointItem(&xml, endpoint, topology, created: created)
            }
            xml.value("nextToken", page.next)
        }
    }

    /// One endpoint, as the describe and the create calls give it.
    static func endpointItem(_ xml: inout XMLWriter, _ endpoint: Endpoint, _ topology: Topology, created: String) {
        xml.value("vpcEndpointId", endpoint.id)
        xml.value("vpcEndpointType", endpoint.kind.rawValue)
        xml.value("vpcId", topology[endpoint.vpc].id)
        xml.value("serviceName", endpoint.serviceName)
        xml.value("state", endpoint.state.rawValue)
        xml.strings("routeTableIdSet", member: "item", endpoint.routeTables.map { topology[$0].id })
        xml.strings("subnetIdSet", member: "item", endpoint.interfaces.map { topology[topology[$0].subnet].id })
        xml.list("groupSet", member: "item", endpoint.securityGroups.map { topology[$0] }) { xml, group in
            xml.value("groupId", group.id)
            xml.value("groupName", group.name)
        }
        if endpoint.kind != .gateway {
            xml.value("ipAddressType", endpoint.ipAddressType)
            xml.element("dnsOptions") { $0.value("dnsRecordIpType", endpoint.dnsRecordIpType) }
        }
        xml.value("privateDnsEnabled", endpoint.privateDnsEnabled)
        xml.value("requesterManaged", false)
        xml.strings("networkInterfaceIdSet", member: "item", endpoint.interfaces.map { topology[$0].id })
        xml.list("dnsEntrySet", member: "item", dnsNames(endpoint)) { xml, name in
            xml.value("dnsName", name)
            xml.value("hostedZoneId", topology.endpointHostedZoneID)
        }
        xml.value("creationTimestamp", created)
        tagSet(&xml, endpoint.name, endpoint.tags)
        xml.value("ownerId", topology[endpoint.vpc].accountID)
    }

    /// An endpoint's DNS names as the API lists them: regional, zonal, then the private name.
    static func dnsNames(_ endpoint: Endpoint) -> [String] {
        endpoint.dnsNames.map(\.name) + (endpoint.privateDnsName.map { [$0] } ?? [])
    }

    /// The provider's view: the endpoints that asked to connect to its services.
    static func connections(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["service-id", "vpc-endpoint-id", "vpc-endpoint-owner", "vpc-endpoint-state",
                                                           "ip-address-type"])
        let chosen: [(Endpoint, EndpointService)] = topology.endpoints.compactMap { endpoint in
            guard case .endpointService(let service) = endpoint.service else { return nil }
            let owner = topology[endpoint.vpc].accountID
            guard filters.admit(["service-id": [topology[service].id], "vpc-endpoint-id": [endpoint.id],
                                 "vpc-endpoint-owner": [owner], "vpc-endpoint-state": [endpoint.state.rawValue],
                                 "ip-address-type": [endpoint.ipAddressType]]) else { return nil }
            return (endpoint, topology[service])
        }
        let page = try page(chosen, context)
        let created = context.creationTime
        return { xml in
            xml.list("vpcEndpointConnectionSet", member: "item", page.elements) { xml, pair in
                let (endpoint, service) = pair
                xml.value("serviceId", service.id)
                xml.value("vpcEndpointId", endpoint.id)
                xml.value("vpcEndpointOwner", topology[endpoint.vpc].accountID)
                xml.value("vpcEndpointState", endpoint.state.rawValue)
                xml.value("creationTimestamp", created)
                xml.list("dnsEntrySet", member: "item", dnsNames(endpoint)) { xml, name in
                    xml.value("dnsName", name)
                    xml.value("hostedZoneId", topology.endpointHostedZoneID)
                }
                let arns = service.loadBalancers.map { topology.arn(of: $0) }
                xml.strings(service.kind == .interface ? "networkLoadBalancerArnSet" : "gatewayLoadBalancerArnSet", member: "item", arns)
                xml.value("ipAddressType", endpoint.ipAddressType)
                xml.value("vpcEndpointConnectionId", "vpce-con-" + endpoint.id.dropFirst("vpce-".count))
                xml.value("vpcEndpointRegion", topology.region)
            }
            xml.value("nextToken", page.next)
        }
    }

    // MARK: Writes

    /// Accepts or rejects endpoints' requests to connect to a service: each one its state allows
    /// moves (`pendingAcceptance` → `available` or `rejected`; `available` → `rejected`); the
    /// others are listed as unsuccessful, as EC2 lists them.
    static func decide(_ event: ConnectionState.Event, _ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let serviceID = try context.required("ServiceId").get()
        guard let service = topology.endpointServices.firstIndex(where: { $0.id == serviceID }) else {
            throw APIError(.vpcEndpointServiceNotFound, "The Vpc Endpoint Service Id '\(serviceID)' does not exist")
        }
        let ids = context.request.list("VpcEndpointId")
        guard !ids.isEmpty else { throw APIError(.missingParameter, "The request must contain the parameter VpcEndpointId") }
        var unsuccessful: [(id: String, code: String, message: String)] = []
        var decided: [String] = []
        for id in ids {
            guard let endpoint = topology.endpoints.first(where: { $0.id == id }),
                  endpoint.service == .endpointService(Ref(service)) else {
                unsuccessful.append((id, APIError.Code.vpcEndpointNotFound.rawValue, "The Vpc Endpoint Id '\(id)' does not exist"))
                continue
            }
            guard endpoint.state.after(event) != nil else {
                unsuccessful.append((id, APIError.Code.invalidState.rawValue,
                                     "Vpc Endpoint \(id) is in state \(endpoint.state.rawValue) and cannot be \(event == .accept ? "accepted" : "rejected")"))
                continue
            }
            decided.append(endpoint.name)
        }
        if !decided.isEmpty {
            // The provider's decision, as the file writes it: an accepted endpoint is provisioned
            // at once (`pending` is AWS's time to do so).
            try context.edit { spec, _ throws(APIError) in
                for index in spec.endpoints.indices where decided.contains(spec.endpoints[index].name.value) {
                    spec.endpoints[index].decision = Located(event == .accept ? "accepted" : "rejected", at: ActionContext.apiPosition)
                }
            }
        }
        return { xml in unsuccessfulItems(&xml, unsuccessful) }
    }
}
