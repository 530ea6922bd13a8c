import Topology

// The rest of EC2's reads of the subset: route tables, security groups, network interfaces,
// prefix lists, and the endpoint services as consumers and providers see them.

extension EC2Actions {
    static func routeTables(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["route-table-id", "vpc-id", "association.subnet-id", "association.main",
                                                           "owner-id", "route.destination-cidr-block", "route.gateway-id"])
        func subnets(_ index: Int) -> [Subnet] {
            topology.subnets.filter { $0.routeTable.index == index && topology[$0.vpc].mainRouteTable.index != index }
        }
        func gateway(_ route: Route, _ vpc: VPC) -> String {
            switch route.target {
            case .local: return "local"
            case .internetGateway: return vpc.internetGateway?.id ?? "igw"
            case .gatewayLoadBalancerEndpoint(let endpoint), .gatewayEndpoint(let endpoint): return topology[endpoint].id
            }
        }
        let chosen = try selected(Array(topology.routeTables.indices), ids: context.request.list("RouteTableId"),
                                  id: { topology.routeTables[$0].id }, notFound: .routeTableNotFound, kind: "route table")
            .filter { index in
                let table = topology.routeTables[index], vpc = topology[table.vpc]
                return filters.admit(["route-table-id": [table.id], "vpc-id": [vpc.id], "association.subnet-id": subnets(index).map(\.id),
                                      "association.main": [table.isMain ? "true" : "false"], "owner-id": [vpc.accountID],
                                      "route.destination-cidr-block": table.routes.compactMap { route in
                                          if case .ipv4(let prefix) = route.destination { return "\(prefix)" } else { return nil }
                                      },
                                      "route.gateway-id": table.routes.map { gateway($0, vpc) }],
                                     tags: tagValues(table.name, table.tags))
            }
        let page = try page(chosen, context)
        return { xml in
            xml.list("routeTableSet", member: "item", page.elements) { xml, index in
                let table = topology.routeTables[index], vpc = topology[table.vpc]
                xml.value("routeTableId", table.id)
                xml.value("vpcId", vpc.id)
                xml.value("ownerId", vpc.accountID)
                xml.list("routeSet", member: "item", table.routes) { xml, route in
                    switch route.destination {
                    case .ipv4(let prefix): xml.value("destinationCidrBlock", "\(prefix)")
                    case .ipv6(let prefix): xml.value("destinationIpv6CidrBlock", "\(prefix)")
                    case .prefixList(let list): xml.value("destinationPrefixListId", topology[list].id)
                    }
                    xml.value("gatewayId", gateway(route, vpc))
                    xml.value("state", "active")
                    xml.value("origin", route.target == .local ? "CreateRouteTable" : "CreateRoute")
                }
                var associations: [(subnet: String?, gateway: String?, main: Bool)] = subnets(index).map { ($0.id, nil, false) }
                if table.isMain { associations.insert((nil, nil, true), at: 0) }
                if vpc.internetGateway?.edgeRouteTable?.index == index { associations.append((nil, vpc.internetGateway?.id, false)) }
                xml.list("associationSet", member: "item", associations) { xml, association in
                    xml.value("routeTableAssociationId", "rtbassoc-" + table.id.dropFirst(4) + (association.subnet?.suffix(4) ?? "main"))
                    xml.value("routeTableId", table.id)
                    xml.value("subnetId", association.subnet)
                    xml.value("gatewayId", association.gateway)
                    xml.value("main", association.main)
                    xml.element("associationState") { $0.value("state", "associated") }
                }
                xml.element("propagatingVgwSet") { _ in }
                tagSet(&xml, table.name, table.tags)
            }
            xml.value("nextToken", page.next)
        }
    }

    static func securityGroups(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["group-id", "group-name", "vpc-id", "owner-id"])
        let names = context.request.list("GroupName")
        let chosen = try selected(topology.securityGroups, ids: context.request.list("GroupId"), id: \.id,
                                  notFound: .securityGroupNotFound, kind: "security group")
            .filter { group in
                (names.isEmpty || names.contains(group.name))
                    && filters.admit(["group-id": [group.id], "group-name": [group.name], "vpc-id": [topology[group.vpc].id],
                                      "owner-id": [topology[group.vpc].accountID]], tags: tagValues(group.name, group.tags))
            }
        let page = try page(chosen, context)
        func permissions(_ xml: inout XMLWriter, _ name: String, _ rules: [SecurityGroupRule], owner: String) {
            xml.list(name, member: "item", rules) { xml, rule in
                xml.value("ipProtocol", rule.protocolMatch == .all ? "-1" : rule.protocolMatch.rawValue)
                if rule.protocolMatch == .tcp || rule.protocolMatch == .udp {
                    xml.value("fromPort", Int(rule.ports.lowerBound))
                    xml.value("toPort", Int(rule.ports.upperBound))
                }
                switch rule.peer {
                case .ipv4(let prefix): xml.list("ipRanges", member: "item", [prefix]) { $0.value("cidrIp", "\($1)") }
                case .ipv6(let prefix): xml.list("ipv6Ranges", member: "item", [prefix]) { $0.value("cidrIpv6", "\($1)") }
                case .securityGroup(let group):
                    xml.list("groups", member: "item", [topology[group]]) { xml, group in
                        xml.value("userId", owner)
                        xml.value("groupId", group.id)
                    }
                case .prefixList(let list): xml.list("prefixListIds", member: "item", [topology[list]]) { $0.value("prefixListId", $1.id) }
                }
            }
        }
        return { xml in
            xml.list("securityGroupInfo", member: "item", page.elements) { xml, group in
                let vpc = topology[group.vpc]
                xml.value("ownerId", vpc.accountID)
                xml.value("groupId", group.id)
                xml.value("groupName", group.name)
                xml.value("groupDescription", group.name == "default" ? "default VPC security group" : group.name)
                xml.value("vpcId", vpc.id)
                xml.value("securityGroupArn", "arn:aws:ec2:\(topology.region):\(vpc.accountID):security-group/\(group.id)")
                permissions(&xml, "ipPermissions", group.ingress, owner: vpc.accountID)
                permissions(&xml, "ipPermissionsEgress", group.egress, owner: vpc.accountID)
                tagSet(&xml, group.name, group.tags)
            }
            xml.value("nextToken", page.next)
        }
    }

    static func networkInterfaces(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["network-interface-id", "vpc-id", "subnet-id", "interface-type",
                                                           "requester-managed", "private-ip-address", "addresses.private-ip-address",
                                                           "description", "attachment.instance-id", "group-id", "availability-zone",
                                                           "owner-id", "status"])
        func type(_ eni: NetworkInterface) -> String {
            switch eni.owner {
            case .host: return "interface"
            case .endpoint(let endpoint):
                return topology[endpoint].kind == .gatewayLoadBalancer ? "gateway_load_balancer_endpoint" : "vpc_endpoint"
            case .loadBalancer(let balancer): return topology[balancer].kind == .network ? "network_load_balancer" : "gateway_load_balancer"
            }
        }
        func description(_ eni: NetworkInterface) -> String {
            switch eni.owner {
            case .host(let host): return "Primary network interface of \(topology[host].name)"
            case .endpoint(let endpoint): return "VPC Endpoint Interface \(topology[endpoint].id)"
            case .loadBalancer(let balancer):
                return "ELB " + (topology.arn(of: balancer).components(separatedBy: ":loadbalancer/").last ?? topology[balancer].name)
            }
        }
        let indices = Array(topology.networkInterfaces.indices)
        let chosen = try selected(indices, ids: context.request.list("NetworkInterfaceId"), id: { topology.networkInterfaces[$0].id },
                                  notFound: .networkInterfaceNotFound, kind: "networkInterface")
            .filter { index in
                let eni = topology.networkInterfaces[index], subnet = topology[eni.subnet], vpc = topology[subnet.vpc]
                return filters.admit(["network-interface-id": [eni.id], "vpc-id": [vpc.id], "subnet-id": [subnet.id],
                                      "interface-type": [type(eni)], "requester-managed": [eni.requesterManaged ? "true" : "false"],
                                      "private-ip-address": eni.ipv4.map { ["\($0)"] } ?? [],
                                      "addresses.private-ip-address": eni.ipv4.map { ["\($0)"] } ?? [],
                                      "description": [description(eni)], "attachment.instance-id": topology.instanceID(of: index).map { [$0] } ?? [],
                                      "group-id": eni.securityGroups.map { topology[$0].id }, "availability-zone": [topology[subnet.zone].name],
                                      "owner-id": [vpc.accountID], "status": ["in-use"]])
            }
        let page = try page(chosen, context)
        return { xml in
            xml.list("networkInterfaceSet", member: "item", page.elements) { xml, index in
                let eni = topology.networkInterfaces[index], subnet = topology[eni.subnet], vpc = topology[subnet.vpc]
                xml.value("networkInterfaceId", eni.id)
                xml.value("subnetId", subnet.id)
                xml.value("vpcId", vpc.id)
                xml.value("availabilityZone", topology[subnet.zone].name)
                xml.value("availabilityZoneId", topology[subnet.zone].id)
                xml.value("description", description(eni))
                xml.value("ownerId", vpc.accountID)
                xml.value("requesterManaged", eni.requesterManaged)
                xml.value("status", "in-use")
                xml.value("privateIpAddress", eni.ipv4.map { "\($0)" })
                xml.value("sourceDestCheck", eni.sourceDestCheck)
                xml.value("interfaceType", type(eni))
                xml.value("denyAllIgwTraffic", eni.denyAllIgwTraffic)
                xml.list("groupSet", member: "item", eni.securityGroups.map { topology[$0] }) { xml, group in
                    xml.value("groupId", group.id)
                    xml.value("groupName", group.name)
                }
                if let instance = topology.instanceID(of: index) {
                    xml.element("attachment") { xml in
                        xml.value("attachmentId", "eni-attach-" + eni.id.dropFirst(4))
                        xml.value("instanceId", instance)
                        xml.value("deviceIndex", 0)
                        xml.value("status", "attached")
                    }
                }
                xml.list("privateIpAddressesSet", member: "item", eni.ipv4.map { [$0] } ?? []) { xml, address in
                    xml.value("privateIpAddress", "\(address)")
                    xml.value("primary", true)
                }
                xml.list("ipv6AddressesSet", member: "item", eni.ipv6.map { [$0] } ?? []) { $0.value("ipv6Address", "\($1)") }
                tagSet(&xml, topology.owner(of: index), [])
            }
            xml.value("nextToken", page.next)
        }
    }

    /// The AWS services' prefix lists: `DescribePrefixLists` (`managed` false) and
    /// `DescribeManagedPrefixLists` (`managed` true, AWS-owned).
    static func prefixLists(_ context: ActionContext, managed: Bool) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["prefix-list-id", "prefix-list-name", "owner-id"])
        let chosen = try selected(topology.prefixLists, ids: context.request.list("PrefixListId"), id: \.id,
                                  notFound: .prefixListNotFound, kind: "prefix list")
            .filter { filters.admit(["prefix-list-id": [$0.id], "prefix-list-name": [$0.name], "owner-id": ["AWS"]]) }
        let page = try page(chosen, context)
        return { xml in
            xml.list("prefixListSet", member: "item", page.elements) { xml, list in
                xml.value("prefixListId", list.id)
                xml.value("prefixListName", list.name)
                if managed {
                    xml.value("addressFamily", "IPv4")
                    xml.value("state", "create-complete")
                    xml.value("prefixListArn", "arn:aws:ec2:\(topology.region):aws:prefix-list/\(list.id)")
                    xml.value("ownerId", "AWS")
                } else {
                    xml.strings("cidrSet", member: "item", list.cidrs.map { "\($0)" })
                }
            }
            xml.value("nextToken", page.next)
        }
    }

    /// The zones where a service's load balancers have nodes.
    static func zones(of service: EndpointService, _ topology: Topology) -> [Zone] {
        let refs = Set(service.loadBalancers.flatMap { topology[$0].nodes.map(\.zone) })
        return topology.zones.indices.filter { refs.contains(Ref($0)) }.map { topology.zones[$0] }
    }

    static func ipAddressTypes(of service: EndpointService) -> [String] {
        (service.supportsIPv4 ? ["ipv4"] : []) + (service.supportsIPv6 ? ["ipv6"] : [])
    }

    /// The consumer's view: the AWS services reached through gateway endpoints, and the
    /// endpoint services of the topology.
    static func endpointServices(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["service-name", "service-type", "owner"])
        struct Detail {
            var name: String, id: String?, type: String, zones: [Zone], owner: String, baseNames: [String]
            var privateName: String?, acceptance: Bool, verification: String?, addressTypes: [String]
        }
        var details = topology.prefixLists.map { list in
            Detail(name: list.name, id: nil, type: "Gateway", zones: topology.zones, owner: "amazon",
                   baseNames: [gatewayServiceDNSName(list.name)],
                   privateName: nil, acceptance: false, verification: nil, addressTypes: ["ipv4"])
        }
        details += topology.endpointServices.map { service in
            Detail(name: service.serviceName, id: service.id, type: service.kind.rawValue, zones: zones(of: service, topology),
                   owner: service.accountID, baseNames: [service.dnsName], privateName: service.privateDnsName,
                   acceptance: service.acceptanceRequired, verification: service.privateDnsName.map { _ in service.privateDnsNameVerification },
                   addressTypes: ipAddressTypes(of: service))
        }
        let names = context.request.list("ServiceName")
        for name in names where !details.contains(where: { $0.name == name }) {
            throw APIError(.invalidServiceName, "The Vpc Endpoint Service '\(name)' does not exist")
        }
        details = details.filter { detail in
            (names.isEmpty || names.contains(detail.name))
                && filters.admit(["service-name": [detail.name], "service-type": [detail.type], "owner": [detail.owner]])
        }
        let page = try page(details, context)
        return { xml in
            xml.strings("serviceNameSet", member: "item", page.elements.map(\.name))
            xml.list("serviceDetailSet", member: "item", page.elements) { xml, detail in
                xml.value("serviceName", detail.name)
                xml.value("serviceId", detail.id)
                xml.list("serviceType", member: "item", [detail.type]) { $0.value("serviceType", $1) }
                xml.value("serviceRegion", topology.region)
                xml.strings("availabilityZoneIdSet", member: "item", detail.zones.map(\.id))
                xml.strings("availabilityZoneSet", member: "item", detail.zones.map(\.name))
                xml.value("owner", detail.owner)
                xml.strings("baseEndpointDnsNameSet", member: "item", detail.baseNames)
                xml.value("privateDnsName", detail.privateName)
                xml.list("privateDnsNameSet", member: "item", detail.privateName.map { [$0] } ?? []) { $0.value("privateDnsName", $1) }
                xml.value("vpcEndpointPolicySupported", detail.type != "GatewayLoadBalancer")
                xml.value("acceptanceRequired", detail.acceptance)
                xml.value("managesVpcEndpoints", false)
                xml.value("privateDnsNameVerificationState", detail.verification)
                xml.strings("supportedIpAddressTypeSet", member: "item", detail.addressTypes)
            }
            xml.value("nextToken", page.next)
        }
    }

    /// `com.amazonaws.REGION.SERVICE` → `SERVICE.REGION.amazonaws.com`.
    static func gatewayServiceDNSName(_ serviceName: String) -> String {
        let parts = serviceName.split(separator: ".")
        guard parts.count == 4 else { return serviceName }
        return "\(parts[3]).\(parts[2]).amazonaws.com"
    }

    /// The provider's view of its endpoint services.
    static func serviceConfigurations(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["service-name", "service-id", "service-state"])
        let chosen = try selected(topology.endpointServices, ids: context.request.list("ServiceId"), id: \.id,
                                  notFound: .vpcEndpointServiceNotFound, kind: "VpcEndpointService")
            .filter { filters.admit(["service-name": [$0.serviceName], "service-id": [$0.id], "service-state": ["Available"]],
                                    tags: tagValues($0.name, $0.tags)) }
        let page = try page(chosen, context)
        return { xml in
            xml.list("serviceConfigurationSet", member: "item", page.elements) { xml, service in
                serviceConfiguration(&xml, service, topology)
            }
            xml.value("nextToken", page.next)
        }
    }

    /// One service's configuration, as the describe and the create calls give it.
    static func serviceConfiguration(_ xml: inout XMLWriter, _ service: EndpointService, _ topology: Topology) {
        xml.list("serviceType", member: "item", [service.kind.rawValue]) { $0.value("serviceType", $1) }
        xml.value("serviceId", service.id)
        xml.value("serviceName", service.serviceName)
        xml.value("serviceState", "Available")
        xml.strings("availabilityZoneIdSet", member: "item", zones(of: service, topology).map(\.id))
        xml.strings("availabilityZoneSet", member: "item", zones(of: service, topology).map(\.name))
        xml.value("acceptanceRequired", service.acceptanceRequired)
        xml.value("managesVpcEndpoints", false)
        let arns = service.loadBalancers.map { topology.arn(of: $0) }
        xml.strings(service.kind == .interface ? "networkLoadBalancerArnSet" : "gatewayLoadBalancerArnSet", member: "item", arns)
        xml.strings("supportedIpAddressTypeSet", member: "item", ipAddressTypes(of: service))
        xml.strings("baseEndpointDnsNameSet", member: "item", [service.dnsName])
        xml.value("privateDnsName", service.privateDnsName)
        if let name = service.privateDnsName {
            xml.element("privateDnsNameConfiguration") { xml in
                xml.value("state", service.privateDnsNameVerification)
                xml.value("type", "TXT")
                xml.value("value", "vpce:" + service.id.dropFirst("vpce-svc-".count))
                xml.value("name", "_" + service.id.suffix(8) + "." + name)
            }
        }
        tagSet(&xml, service.name, service.tags)
    }

    static func servicePermissions(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let serviceID = try context.required("ServiceId").get()
        guard let service = topology.endpointServices.first(where: { $0.id == serviceID }) else {
            throw APIError(.vpcEndpointServiceNotFound, "The Vpc Endpoint Service Id '\(serviceID)' does not exist")
        }
        let filters = try Filters(context.request, known: ["principal", "principal-type"])
        func type(_ principal: String) -> String {
            principal == "*" ? "All" : principal.contains(":role/") ? "Role" : principal.contains(":user/") ? "User" : "Account"
        }
        let chosen = service.allowedPrincipals.filter { filters.admit(["principal": [$0], "principal-type": [type($0)]]) }
        let page = try page(chosen, context)
        return { xml in
            xml.list("allowedPrincipals", member: "item", page.elements) { xml, principal in
                xml.value("principalType", type(principal))
                xml.value("principal", principal)
                xml.value("serviceId", service.id)
            }
            xml.value("nextToken", page.next)
        }
    }
}
