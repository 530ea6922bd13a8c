import Topology

// Endpoints and endpoint services made, changed and deleted through the API: edits of the
// spec's `endpoints` and `endpointServices`, in the file's words (names of VPCs, subnets, groups,
// route tables, load balancers), resolved again before they stand. A new endpoint's ENIs get
// addresses as the file would give them; its state follows its service's acceptance.

extension EC2Actions {
    /// Writes every endpoint ENI's address into the spec, as designated addresses: an ENI
    /// keeps its address however endpoints come and go around it (addresses left to the
    /// resolver are allocated in file order, so a change before an endpoint would move it).
    static func pinEndpointAddresses(_ spec: inout TopologySpec, _ topology: Topology) {
        for index in spec.endpoints.indices {
            guard let endpoint = topology.endpoints.first(where: { $0.name == spec.endpoints[index].name.value }) else { continue }
            for (position, configuration) in spec.endpoints[index].subnets.enumerated() {
                guard let eni = endpoint.interfaces.map({ topology[$0] })
                    .first(where: { topology[$0.subnet].name == configuration.subnet.value }) else { continue }
                if configuration.ipv4 == nil, let address = eni.ipv4 {
                    spec.endpoints[index].subnets[position].ipv4 = Located("\(address)", at: here)
                }
                if configuration.ipv6 == nil, let address = eni.ipv6 {
                    spec.endpoints[index].subnets[position].ipv6 = Located("\(address)", at: here)
                }
            }
        }
    }

    /// The spec's name of a resource the request names by ID.
    static func name<Element>(_ id: String, in all: [Element], id key: (Element) -> String, name: (Element) -> String,
                              notFound: APIError.Code, kind: String) throws(APIError) -> String {
        guard let element = all.first(where: { key($0) == id }) else { throw APIError(notFound, "The \(kind) ID '\(id)' does not exist") }
        return name(element)
    }

    static func groupNames(_ ids: [String], vpc: Ref<VPC>, _ topology: Topology) throws(APIError) -> [String] {
        var names: [String] = []
        for id in ids {
            guard let group = topology.securityGroups.first(where: { $0.id == id }) else {
                throw APIError(.securityGroupNotFound, "The security group '\(id)' does not exist")
            }
            guard group.vpc == vpc else {
                throw APIError(.invalidParameterValue, "security group \(id) is in VPC \(topology[group.vpc].id), not the endpoint's")
            }
            names.append(group.name)
        }
        return names
    }

    static func subnetNames(_ ids: [String], _ topology: Topology) throws(APIError) -> [String] {
        var names: [String] = []
        for id in ids {
            names.append(try name(id, in: topology.subnets, id: \.id, name: \.name, notFound: .subnetNotFound, kind: "subnet"))
        }
        return names
    }

    static func routeTableNames(_ ids: [String], _ topology: Topology) throws(APIError) -> [String] {
        var names: [String] = []
        for id in ids {
            guard let table = topology.routeTables.first(where: { $0.id == id }) else {
                throw APIError(.routeTableNotFound, "The routeTable ID '\(id)' does not exist")
            }
            guard !table.isMain else {
                throw APIError(.invalidParameterValue, "route table \(id) is a main route table; Privet associates gateway endpoints with the file's route tables")
            }
            names.append(table.name)
        }
        return names
    }

    static func createEndpoint(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology, request = context.request
        let vpcID = try context.required("VpcId").get(), serviceName = try context.required("ServiceName").get()
        guard let vpc = topology.vpcs.firstIndex(where: { $0.id == vpcID }) else {
            throw APIError(.vpcNotFound, "The vpc ID '\(vpcID)' does not exist")
        }
        try refusePolicy(context)
        let type = request.parameters["VpcEndpointType"] ?? "Gateway"
        guard ["Interface", "Gateway", "GatewayLoadBalancer"].contains(type) else {
            throw APIError(.invalidParameterValue, "VpcEndpointType is Interface, Gateway or GatewayLoadBalancer, not '\(type)'")
        }
        let service = topology.endpointServices.first { $0.serviceName == serviceName }
        guard service != nil || topology.prefixLists.contains(where: { $0.name == serviceName }) else {
            throw APIError(.invalidServiceName, "The Vpc Endpoint Service '\(serviceName)' does not exist")
        }
        let name = try newName(context, prefix: "endpoint", taken: topology.endpoints.map(\.name))
        var endpoint = EndpointSpec(name: Located(name, at: here), type: Located(type, at: here),
                                    vpc: Located(topology.vpcs[vpc].name, at: here))
        if let service {
            endpoint.service = Located(service.name, at: here)
        } else {
            endpoint.serviceName = Located(serviceName, at: here)
        }
        endpoint.subnets = try subnetNames(request.list("SubnetId"), topology).map { SubnetConfigurationSpec(subnet: Located($0, at: here)) }
        // Designated addresses: `SubnetConfiguration.N.SubnetId` with `.Ipv4` and `.Ipv6`.
        var number = 1
        while let subnetID = request.parameters["SubnetConfiguration.\(number).SubnetId"] {
            let name = try subnetNames([subnetID], topology)[0]
            let configuration = SubnetConfigurationSpec(
                subnet: Located(name, at: here), ipv4: request.parameters["SubnetConfiguration.\(number).Ipv4"].map { Located($0, at: here) },
                ipv6: request.parameters["SubnetConfiguration.\(number).Ipv6"].map { Located($0, at: here) })
            if let index = endpoint.subnets.firstIndex(where: { $0.subnet.value == name }) {
                endpoint.subnets[index] = configuration
            } else {
                endpoint.subnets.append(configuration)
            }
            number += 1
        }
        endpoint.securityGroups = try groupNames(request.list("SecurityGroupId"), vpc: Ref(vpc), topology).map { Located($0, at: here) }
        endpoint.routeTables = try routeTableNames(request.list("RouteTableId"), topology).map { Located($0, at: here) }
        endpoint.privateDnsEnabled = try bool(context, "PrivateDnsEnabled").map { Located($0, at: here) }
        endpoint.ipAddressType = request.parameters["IpAddressType"].map { Located($0, at: here) }
        endpoint.dnsRecordIpType = request.parameters["DnsOptions.DnsRecordIpType"].map { Located($0, at: here) }
        endpoint.tags = tagSpecs(creationTags(context))
        try context.edit { spec, topology throws(APIError) in
            pinEndpointAddresses(&spec, topology)
            spec.endpoints.append(endpoint)
        }
        let created = context.topology, time = context.creationTime
        return { xml in
            if let made = created.endpoints.first(where: { $0.name == name }) {
                xml.element("vpcEndpoint") { endpointItem(&$0, made, created, created: time) }
            }
            xml.value("clientToken", request.parameters["ClientToken"])
        }
    }

    /// Endpoint policies act at layer 7, above a packet dataplane: a call that sets one is
    /// refused rather than taken and not enforced.
    static func refusePolicy(_ context: ActionContext) throws(APIError) {
        if context.request.parameters["PolicyDocument"] != nil {
            throw APIError(.invalidParameterValue, "Privet does not model endpoint policies (they act at layer 7); leave PolicyDocument out")
        }
    }

    static func modifyEndpoint(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology, request = context.request
        let id = try context.required("VpcEndpointId").get()
        guard let endpoint = topology.endpoints.first(where: { $0.id == id }) else {
            throw APIError(.vpcEndpointNotFound, "The Vpc Endpoint Id '\(id)' does not exist")
        }
        let addSubnets = try subnetNames(request.list("AddSubnetId"), topology)
        let removeSubnets = try subnetNames(request.list("RemoveSubnetId"), topology)
        let addGroups = try groupNames(request.list("AddSecurityGroupId"), vpc: endpoint.vpc, topology)
        let removeGroups = try groupNames(request.list("RemoveSecurityGroupId"), vpc: endpoint.vpc, topology)
        let addTables = try routeTableNames(request.list("AddRouteTableId"), topology)
        let removeTables = try routeTableNames(request.list("RemoveRouteTableId"), topology)
        let privateDns = try bool(context, "PrivateDnsEnabled")
        try refusePolicy(context)
        let ipAddressType = request.parameters["IpAddressType"], recordType = request.parameters["DnsOptions.DnsRecordIpType"]
        try context.edit { spec, topology throws(APIError) in
            pinEndpointAddresses(&spec, topology)
            guard let index = spec.endpoints.firstIndex(where: { $0.name.value == endpoint.name }) else { return }
            var changed = spec.endpoints[index]
            changed.subnets.removeAll { removeSubnets.contains($0.subnet.value) }
            for subnet in addSubnets where !changed.subnets.contains(where: { $0.subnet.value == subnet }) {
                changed.subnets.append(SubnetConfigurationSpec(subnet: Located(subnet, at: here)))
            }
            // An endpoint that named no group has its VPC's default one: written out to change it.
            var groups = changed.securityGroups.map(\.value)
            if groups.isEmpty && (!addGroups.isEmpty || !removeGroups.isEmpty) { groups = endpoint.securityGroups.map { topology[$0].name } }
            groups.removeAll { removeGroups.contains($0) }
            groups += addGroups.filter { !groups.contains($0) }
            changed.securityGroups = groups.map { Located($0, at: here) }
            changed.routeTables.removeAll { removeTables.contains($0.value) }
            changed.routeTables += addTables.filter { table in !changed.routeTables.contains { $0.value == table } }.map { Located($0, at: here) }
            if let privateDns { changed.privateDnsEnabled = Located(privateDns, at: here) }
            if let ipAddressType { changed.ipAddressType = Located(ipAddressType, at: here) }
            if let recordType { changed.dnsRecordIpType = Located(recordType, at: here) }
            spec.endpoints[index] = changed
        }
        return { xml in returnTrue(&xml) }
    }

    static func deleteEndpoints(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let ids = context.request.list("VpcEndpointId")
        guard !ids.isEmpty else { throw APIError(.missingParameter, "The request must contain the parameter VpcEndpointId") }
        var unsuccessful: [(id: String, code: String, message: String)] = []
        var deleted: [String] = []
        for id in ids {
            guard let index = topology.endpoints.firstIndex(where: { $0.id == id }) else {
                unsuccessful.append((id, APIError.Code.vpcEndpointNotFound.rawValue, "The Vpc Endpoint Id '\(id)' does not exist"))
                continue
            }
            let target = Route.Target.gatewayLoadBalancerEndpoint(Ref(index))
            let routing = topology.routeTables.filter { table in table.routes.contains { $0.target == target } }
            guard routing.isEmpty else {
                unsuccessful.append((id, "DependencyViolation", "routes of \(routing.map(\.id).joined(separator: ", ")) go to it: delete them first"))
                continue
            }
            deleted.append(topology.endpoints[index].name)
        }
        if !deleted.isEmpty {
            try context.edit { spec, topology throws(APIError) in
                pinEndpointAddresses(&spec, topology)
                spec.endpoints.removeAll { deleted.contains($0.name.value) }
            }
        }
        return { xml in unsuccessfulItems(&xml, unsuccessful) }
    }

    static func unsuccessfulItems(_ xml: inout XMLWriter, _ items: [(id: String, code: String, message: String)]) {
        xml.list("unsuccessful", member: "item", items) { xml, failure in
            xml.element("error") { xml in
                xml.value("code", failure.code)
                xml.value("message", failure.message)
            }
            xml.value("resourceId", failure.id)
        }
    }

    // MARK: Endpoint services

    static func balancerNames(_ arns: [String], _ topology: Topology) throws(APIError) -> [String] {
        var names: [String] = []
        for arn in arns {
            guard let index = topology.loadBalancers.indices.first(where: { topology.arn(of: Ref<LoadBalancer>($0)) == arn }) else {
                throw APIError(.invalidParameterValue, "load balancer '\(arn)' does not exist")
            }
            names.append(topology.loadBalancers[index].name)
        }
        return names
    }

    static func createService(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology, request = context.request
        let balancers = try balancerNames(request.list("NetworkLoadBalancerArn") + request.list("GatewayLoadBalancerArn"), topology)
        guard let first = balancers.first, let balancer = topology.loadBalancers.first(where: { $0.name == first }) else {
            throw APIError(.missingParameter, "The request must contain NetworkLoadBalancerArn or GatewayLoadBalancerArn")
        }
        let name = try newName(context, prefix: "service", taken: topology.endpointServices.map(\.name))
        var service = EndpointServiceSpec(name: Located(name, at: here), account: Located(topology[balancer.vpc].accountID, at: here),
                                          loadBalancers: balancers.map { Located($0, at: here) })
        service.acceptanceRequired = try bool(context, "AcceptanceRequired") ?? true
        service.privateDnsName = request.parameters["PrivateDnsName"].map { Located($0, at: here) }
        service.supportedIpAddressTypes = request.list("SupportedIpAddressType").map { Located($0, at: here) }
        service.supportedRegions = request.list("SupportedRegion").map { Located($0, at: here) }
        service.tags = tagSpecs(creationTags(context))
        try context.edit { spec, _ throws(APIError) in spec.endpointServices.append(service) }
        let created = context.topology
        return { xml in
            if let made = created.endpointServices.first(where: { $0.name == name }) {
                xml.element("serviceConfiguration") { serviceConfiguration(&$0, made, created) }
            }
            xml.value("clientToken", request.parameters["ClientToken"])
        }
    }

    /// The service a request names by `ServiceId`.
    static func service(_ context: ActionContext) throws(APIError) -> EndpointService {
        let id = try context.required("ServiceId").get()
        guard let service = context.topology.endpointServices.first(where: { $0.id == id }) else {
            throw APIError(.vpcEndpointServiceNotFound, "The Vpc Endpoint Service Id '\(id)' does not exist")
        }
        return service
    }

    static func modifyService(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology, request = context.request
        let service = try service(context)
        let add = try balancerNames(request.list("AddNetworkLoadBalancerArn") + request.list("AddGatewayLoadBalancerArn"), topology)
        let remove = try balancerNames(request.list("RemoveNetworkLoadBalancerArn") + request.list("RemoveGatewayLoadBalancerArn"), topology)
        let acceptance = try bool(context, "AcceptanceRequired"), removeName = try bool(context, "RemovePrivateDnsName") ?? false
        let addTypes = request.list("AddSupportedIpAddressType"), removeTypes = request.list("RemoveSupportedIpAddressType")
        let addRegions = request.list("AddSupportedRegion"), removeRegions = request.list("RemoveSupportedRegion")
        try context.edit { spec, _ throws(APIError) in
            guard let index = spec.endpointServices.firstIndex(where: { $0.name.value == service.name }) else { return }
            var changed = spec.endpointServices[index]
            changed.loadBalancers.removeAll { remove.contains($0.value) }
            changed.loadBalancers += add.filter { name in !changed.loadBalancers.contains { $0.value == name } }.map { Located($0, at: here) }
            if let acceptance { changed.acceptanceRequired = acceptance }
            if removeName { changed.privateDnsName = nil }
            if let name = request.parameters["PrivateDnsName"] {
                changed.privateDnsName = Located(name, at: here)
                // A new name is verified afresh (docs/aws-behaviour.md §4).
                changed.privateDnsNameVerification = nil
            }
            if !addTypes.isEmpty || !removeTypes.isEmpty {
                var types = changed.supportedIpAddressTypes.map(\.value)
                if types.isEmpty { types = EC2Actions.ipAddressTypes(of: service) }
                types.removeAll { removeTypes.contains($0) }
                types += addTypes.filter { !types.contains($0) }
                changed.supportedIpAddressTypes = types.map { Located($0, at: here) }
            }
            if !addRegions.isEmpty || !removeRegions.isEmpty {
                var regions = changed.supportedRegions.map(\.value)
                if regions.isEmpty { regions = service.supportedRegions }
                regions.removeAll { removeRegions.contains($0) }
                regions += addRegions.filter { !regions.contains($0) }
                changed.supportedRegions = regions.map { Located($0, at: here) }
            }
            spec.endpointServices[index] = changed
        }
        return { xml in returnTrue(&xml) }
    }

    static func modifyPermissions(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let service = try service(context)
        let add = context.request.list("AddAllowedPrincipals"), remove = context.request.list("RemoveAllowedPrincipals")
        try context.edit { spec, _ throws(APIError) in
            guard let index = spec.endpointServices.firstIndex(where: { $0.name.value == service.name }) else { return }
            var principals = spec.endpointServices[index].allowedPrincipals.map(\.value)
            principals.removeAll { remove.contains($0) }
            principals += add.filter { !principals.contains($0) }
            spec.endpointServices[index].allowedPrincipals = principals.map { Located($0, at: here) }
        }
        return { xml in
            xml.list("addedPrincipalSet", member: "item", add) { xml, principal in
                xml.value("principalType", principal == "*" ? "All" : "Account")
                xml.value("principal", principal)
                xml.value("serviceId", service.id)
            }
            xml.value("return", true)
        }
    }

    static func deleteServices(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let ids = context.request.list("ServiceId")
        guard !ids.isEmpty else { throw APIError(.missingParameter, "The request must contain the parameter ServiceId") }
        var unsuccessful: [(id: String, code: String, message: String)] = []
        var deleted: [String] = []
        for id in ids {
            guard let index = topology.endpointServices.firstIndex(where: { $0.id == id }) else {
                unsuccessful.append((id, APIError.Code.vpcEndpointServiceNotFound.rawValue, "The Vpc Endpoint Service Id '\(id)' does not exist"))
                continue
            }
            // AWS refuses while endpoints are available or pending; Privet while any endpoint
            // still names the service (a rejected one would name nothing).
            let connected = topology.endpoints.filter { $0.service == .endpointService(Ref(index)) }
            guard connected.isEmpty else {
                unsuccessful.append((id, APIError.Code.existingConnections.rawValue,
                                     "Service has existing endpoint connections: \(connected.map(\.id).joined(separator: ", ")); delete them first"))
                continue
            }
            deleted.append(topology.endpointServices[index].name)
        }
        if !deleted.isEmpty {
            try context.edit { spec, _ throws(APIError) in spec.endpointServices.removeAll { deleted.contains($0.name.value) } }
        }
        return { xml in unsuccessfulItems(&xml, unsuccessful) }
    }
}
