import PacketWire

// Endpoint services, VPC endpoints (interface, Gateway Load Balancer, gateway) and hosted zones
// (docs/aws-behaviour.md §3, §4, §6, §7, §8).

extension Resolver {
    mutating func resolveEndpointServices() {
        var serviceOf: [Int: String] = [:]
        for service in spec.endpointServices {
            let subject = "endpoint service '\(service.name.value)'"
            let id = resourceID(service.id, prefix: "vpce-svc", kind: "endpoint service", name: service.name.value)
            var balancers: [Ref<LoadBalancer>] = []
            for reference in service.loadBalancers {
                guard let index = loadBalancers.find(reference, from: subject, log: log) else { continue }
                if let other = serviceOf[index] {
                    log.error(reference.location, "load balancer '\(reference.value)' already belongs to endpoint service '\(other)'; a load balancer serves one endpoint service")
                    continue
                }
                serviceOf[index] = service.name.value
                balancers.append(Ref(index))
            }
            let kinds = Set(balancers.map { topology.loadBalancers[$0.index].kind })
            if kinds.count > 1 {
                log.error(service.name.location, "\(subject) mixes Network and Gateway Load Balancers; a service has Network Load Balancers or one Gateway Load Balancer")
            }
            let kind: EndpointService.Kind = kinds.contains(.gateway) ? .gatewayLoadBalancer : .interface
            if kind == .gatewayLoadBalancer && balancers.count > 1 {
                log.error(service.loadBalancers[1].location, "\(subject) has \(balancers.count) Gateway Load Balancers; a GWLB endpoint service has one")
            }
            if service.loadBalancers.isEmpty {
                log.error(service.name.location, "\(subject) needs at least one load balancer in 'loadBalancers'")
            }
            for principal in service.allowedPrincipals where principal.value != "*" && !Resolver.isPrincipalARN(principal.value) {
                log.error(principal.location, "'\(principal.value)' in 'allowedPrincipals' of \(subject) is not a principal: use '*' or arn:aws:iam::<account>:root, :user/<name> or :role/<name>")
            }
            if kind == .gatewayLoadBalancer, let name = service.privateDnsName {
                log.error(name.location, "\(subject) is a Gateway Load Balancer service; those cannot have a private DNS name")
            } else if let name = service.privateDnsName {
                checkDomainName(name, "the private DNS name of \(subject)")
            }
            var ipv4 = true, ipv6 = false
            if !service.supportedIpAddressTypes.isEmpty {
                ipv4 = false
                for type in service.supportedIpAddressTypes {
                    switch type.value {
                    case "ipv4": ipv4 = true
                    case "ipv6": ipv6 = true
                    default: log.error(type.location, "'supportedIpAddressTypes' of \(subject) takes ipv4 and ipv6, not '\(type.value)'")
                    }
                }
            }
            if ipv6 && kind == .interface {
                for balancer in balancers where !topology.loadBalancers[balancer.index].dualstack {
                    log.error(service.supportedIpAddressTypes.first { $0.value == "ipv6" }!.location,
                              "\(subject) supports ipv6, but its load balancer '\(topology.loadBalancers[balancer.index].name)' is not dualstack ('ipAddressType: dualstack')")
                }
            }
            let regions = service.supportedRegions.map(\.value)
            topology.endpointServices.append(EndpointService(
                name: service.name.value, id: id, serviceName: "com.amazonaws.vpce.\(spec.region.value).\(id)",
                accountID: accountID(service.account, for: subject), kind: kind, loadBalancers: balancers,
                acceptanceRequired: service.acceptanceRequired, allowedPrincipals: service.allowedPrincipals.map(\.value),
                privateDnsName: service.privateDnsName.map { Resolver.normalizedDomain($0.value) },
                privateDnsNameVerification: service.privateDnsNameVerification?.value ?? "pendingVerification",
                supportsIPv4: ipv4, supportsIPv6: ipv6, supportedRegions: regions.isEmpty ? [spec.region.value] : regions,
                dnsName: "\(id).\(spec.region.value).vpce.amazonaws.com"))
        }
    }

    static func isPrincipalARN(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1] == "aws", parts[2] == "iam", parts[3].isEmpty,
              isAccountID(String(parts[4])) else { return false }
        let resource = parts[5]
        return resource == "root" || ((resource.hasPrefix("user/") || resource.hasPrefix("role/")) && resource.count > 5)
    }

    /// The account ID inside a principal ARN.
    static func account(ofPrincipal text: String) -> String? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 5 ? String(parts[4]) : nil
    }

    /// Whether `principal` may create an endpoint to a service with these allowed principals:
    /// `*`, the principal itself, or the root of its account (which allows the whole account).
    static func allows(_ allowed: [String], principal: String) -> Bool {
        allowed.contains { entry in
            entry == "*" || entry == principal
                || (entry.hasSuffix(":root") && account(ofPrincipal: entry) == account(ofPrincipal: principal))
        }
    }

    mutating func resolveEndpoints() {
        var gatewayRoutes: [String: String] = [:]
        for (index, endpoint) in spec.endpoints.enumerated() {
            let subject = "endpoint '\(endpoint.name.value)'"
            let kind = Endpoint.Kind(rawValue: endpoint.type.value) ?? .interface
            guard let vpcIndex = vpcs.find(endpoint.vpc, from: subject, log: log) else {
                topology.endpoints.append(Endpoint(
                    name: endpoint.name.value, id: "", kind: kind, vpc: placeholder(), service: .gateway(placeholder()),
                    serviceName: "", interfaces: [], securityGroups: [], privateDnsEnabled: false, ipAddressType: "",
                    dnsRecordIpType: "", principal: "", state: .failed, dnsNames: [], privateDnsName: nil, routeTables: []))
                continue
            }
            let vpc: VPC? = topology.vpcs[vpcIndex]
            let id = resourceID(endpoint.id, prefix: "vpce", kind: "VPC endpoint", name: endpoint.name.value)
            let (service, serviceName) = endpointService(endpoint, kind: kind, subject: subject)
            var model = Endpoint(
                name: endpoint.name.value, id: id, kind: kind, vpc: Ref(vpcIndex), service: service ?? .gateway(placeholder()),
                serviceName: serviceName, interfaces: [], securityGroups: [], privateDnsEnabled: false,
                ipAddressType: "ipv4", dnsRecordIpType: "ipv4", principal: "", state: .available, dnsNames: [],
                privateDnsName: nil, routeTables: [])
            if kind == .gateway {
                resolveGatewayEndpoint(endpoint, into: &model, vpc: vpcIndex, routes: &gatewayRoutes, subject: subject)
                topology.endpoints.append(model)
                continue
            }
            let subnetRefs = endpointSubnets(endpoint, kind: kind, vpc: vpcIndex, subject: subject)
            var endpointService: EndpointService?
            if case .endpointService(let ref)? = service { endpointService = topology.endpointServices[ref.index] }
            let models = subnetRefs.map { topology.subnets[$0.index] }
            resolveAddressTypes(endpoint, into: &model, subnets: models, service: endpointService, subject: subject)
            if kind == .gatewayLoadBalancer, let first = endpoint.securityGroups.first {
                log.error(first.location, "\(subject) is a Gateway Load Balancer endpoint; those have no security groups")
            } else if kind == .interface {
                model.securityGroups = securityGroups(endpoint.securityGroups, vpc: vpcIndex, for: subject)
            }
            let accountID = vpc?.accountID ?? Resolver.defaultAccountID
            model.principal = endpoint.principal?.value ?? "arn:aws:iam::\(accountID):root"
            if let principal = endpoint.principal, !Resolver.isPrincipalARN(principal.value) {
                log.error(principal.location, "'principal' of \(subject) is not a principal ARN: use arn:aws:iam::<account>:root, :user/<name> or :role/<name>")
            }
            if let endpointService {
                if !Resolver.allows(endpointService.allowedPrincipals, principal: model.principal) {
                    let location = endpoint.principal?.location ?? endpoint.name.location
                    let allowed = endpointService.allowedPrincipals.isEmpty ? "none" : endpointService.allowedPrincipals.joined(separator: ", ")
                    log.error(location, "\(subject): principal \(model.principal) is not allowed by endpoint service '\(endpointService.name)' (allowedPrincipals: \(allowed)); AWS refuses to create such an endpoint")
                }
                if !endpointService.supportedRegions.contains(spec.region.value) {
                    log.error(endpoint.name.location, "\(subject): endpoint service '\(endpointService.name)' does not support region \(spec.region.value)")
                }
                if !endpointService.acceptanceRequired, let decision = endpoint.decision, decision.value != "none" {
                    log.warning(decision.location, "\(subject): endpoint service '\(endpointService.name)' accepts endpoints automatically; the decision '\(decision.value)' is what the provider did afterwards")
                }
                model.state = ConnectionState.settled(acceptanceRequired: endpointService.acceptanceRequired,
                                                      decision: endpoint.decision?.value)
                warnUncoveredZones(endpoint, subnets: subnetRefs, service: endpointService, subject: subject)
            }
            model.interfaces = zip(subnetRefs, endpoint.subnets).map { subnet, configuration in
                addInterface(subnet: subnet.index, owner: .endpoint(Ref(index)),
                             idName: "endpoint/\(endpoint.name.value)/\(topology.subnets[subnet.index].name)",
                             ipv4: configuration.ipv4, ipv6: configuration.ipv6,
                             securityGroups: model.securityGroups, sourceDestCheck: true, requesterManaged: true,
                             what: "the ENI of \(subject) in subnet '\(topology.subnets[subnet.index].name)'",
                             location: configuration.subnet.location,
                             wantIPv4: model.ipAddressType != "ipv6", wantIPv6: model.ipAddressType != "ipv4")
            }
            if kind == .interface, let endpointService {
                let suffix = Names.dnsSuffix(id)
                let domain = "\(endpointService.id).\(spec.region.value).vpce.amazonaws.com"
                model.dnsNames = [Endpoint.DNSName(name: "\(id)-\(suffix).\(domain)", zone: nil)]
                    + subnetRefs.map { subnet in
                        let zone = topology.subnets[subnet.index].zone
                        return Endpoint.DNSName(name: "\(id)-\(suffix)-\(topology.zones[zone.index].name).\(domain)", zone: zone)
                    }
                resolvePrivateDNS(endpoint, into: &model, service: endpointService, vpc: vpc, subject: subject)
            } else if let enabled = endpoint.privateDnsEnabled, enabled.value {
                log.error(enabled.location, "\(subject) is a Gateway Load Balancer endpoint; those have no private DNS")
            }
            topology.endpoints.append(model)
        }
    }

    /// The service an endpoint names, by reference or by service name, checked against its type.
    func endpointService(_ endpoint: EndpointSpec, kind: Endpoint.Kind, subject: String) -> (Endpoint.Service?, String) {
        var service: Endpoint.Service?
        var serviceName = endpoint.serviceName?.value ?? ""
        let reference = endpoint.service ?? endpoint.serviceName ?? endpoint.name
        if let name = endpoint.service {
            if let index = endpointServices.find(name, from: subject, log: log) {
                service = .endpointService(Ref(index))
                serviceName = topology.endpointServices[index].serviceName
            }
        } else if let name = endpoint.serviceName {
            if let index = topology.endpointServices.firstIndex(where: { $0.serviceName == name.value }) {
                service = .endpointService(Ref(index))
            } else if let index = topology.prefixLists.firstIndex(where: { $0.name == name.value }) {
                service = .gateway(Ref(index))
            } else {
                let known = topology.endpointServices.map(\.serviceName) + topology.prefixLists.map(\.name)
                let hint = suggestion(for: name.value, among: known).map { "; did you mean '\($0)'?" } ?? ""
                log.error(name.location, "\(subject) names service '\(name.value)', which is neither an endpoint service of this file nor the name of a prefix list\(hint)")
            }
        }
        switch (kind, service) {
        case (.interface, .endpointService(let ref)?) where topology.endpointServices[ref.index].kind == .gatewayLoadBalancer:
            log.error(reference.location, "\(subject) is an Interface endpoint, but service '\(topology.endpointServices[ref.index].name)' is a Gateway Load Balancer service; use type GatewayLoadBalancer")
            return (nil, serviceName)
        case (.gatewayLoadBalancer, .endpointService(let ref)?) where topology.endpointServices[ref.index].kind == .interface:
            log.error(reference.location, "\(subject) is a GatewayLoadBalancer endpoint, but service '\(topology.endpointServices[ref.index].name)' is served by Network Load Balancers; use type Interface")
            return (nil, serviceName)
        case (.gateway, .endpointService?):
            log.error(reference.location, "\(subject) is a Gateway endpoint; those reach AWS services by prefix list (like com.amazonaws.\(spec.region.value).s3), not endpoint services")
            return (nil, serviceName)
        case (.interface, .gateway?), (.gatewayLoadBalancer, .gateway?):
            log.error(reference.location, "\(subject): '\(serviceName)' is reached through a Gateway endpoint here (type: Gateway)")
            return (nil, serviceName)
        default:
            return (service, serviceName)
        }
    }

    /// The subnets of an interface or GWLB endpoint: in its VPC, at most one per zone; exactly
    /// one for a GWLB endpoint (docs/aws-behaviour.md §4, §6).
    func endpointSubnets(_ endpoint: EndpointSpec, kind: Endpoint.Kind, vpc: Int, subject: String) -> [Ref<Subnet>] {
        if kind == .gatewayLoadBalancer && endpoint.subnets.count != 1 {
            log.error(endpoint.subnets.dropFirst().first?.subnet.location ?? endpoint.name.location,
                      "\(subject) is a Gateway Load Balancer endpoint: it has exactly one subnet, not \(endpoint.subnets.count)")
        } else if endpoint.subnets.isEmpty {
            log.error(endpoint.name.location, "\(subject) needs at least one subnet")
        }
        if let first = endpoint.routeTables.first {
            log.error(first.location, "\(subject): only Gateway endpoints are associated with route tables")
        }
        var refs: [Ref<Subnet>] = []
        var zonesSeen: [Int: String] = [:]
        for configuration in endpoint.subnets {
            guard let index = subnets.find(configuration.subnet, from: subject, log: log) else { return [] }
            let subnet = topology.subnets[index]
            if subnet.vpc.index != vpc {
                log.error(configuration.subnet.location, "\(subject) is in VPC '\(topology.vpcs[vpc].name)', but subnet '\(subnet.name)' is in VPC '\(topology.vpcs[subnet.vpc.index].name)'")
                return []
            }
            if let other = zonesSeen[subnet.zone.index] {
                log.error(configuration.subnet.location, "\(subject) has two subnets in zone \(topology.zones[subnet.zone.index].name): '\(other)' and '\(subnet.name)'; an endpoint has at most one subnet per zone")
                return []
            }
            zonesSeen[subnet.zone.index] = subnet.name
            refs.append(Ref(index))
        }
        return refs
    }

    /// `ipAddressType` and `dnsRecordIpType`: defaults from the subnets, and a check that the
    /// subnets and the service can carry them (docs/aws-behaviour.md §4).
    func resolveAddressTypes(_ endpoint: EndpointSpec, into model: inout Endpoint, subnets: [Subnet],
                             service: EndpointService?, subject: String) {
        let allIPv4 = subnets.allSatisfy { $0.cidr != nil }
        let allIPv6 = subnets.allSatisfy { $0.ipv6Cidr != nil }
        let ipv6Only = subnets.allSatisfy { $0.cidr == nil && $0.ipv6Cidr != nil }
        let type = endpoint.ipAddressType?.value ?? (allIPv4 ? "ipv4" : (ipv6Only ? "ipv6" : "ipv4"))
        let location = endpoint.ipAddressType?.location ?? endpoint.name.location
        switch type {
        case "ipv4":
            if !allIPv4 { log.error(location, "\(subject) has ipAddressType ipv4, but not all of its subnets have an IPv4 block") }
            if let service, !service.supportsIPv4 { log.error(location, "\(subject) has ipAddressType ipv4, but endpoint service '\(service.name)' does not support IPv4") }
        case "dualstack":
            if !(allIPv4 && allIPv6) { log.error(location, "\(subject) has ipAddressType dualstack, but not all of its subnets have both an IPv4 and an IPv6 block") }
            if let service, !(service.supportsIPv4 && service.supportsIPv6) {
                log.error(location, "\(subject) has ipAddressType dualstack, but endpoint service '\(service.name)' supports \(service.supportsIPv6 ? "IPv6" : "IPv4") only")
            }
        default:
            if !ipv6Only { log.error(location, "\(subject) has ipAddressType ipv6, which needs IPv6-only subnets") }
            if let service, !service.supportsIPv6 { log.error(location, "\(subject) has ipAddressType ipv6, but endpoint service '\(service.name)' does not support IPv6") }
        }
        model.ipAddressType = type
        let record = endpoint.dnsRecordIpType?.value ?? type
        let fits = record == "service-defined" || type == "dualstack" || record == type
        if !fits, let written = endpoint.dnsRecordIpType {
            log.error(written.location, "\(subject): dnsRecordIpType \(record) does not fit ipAddressType \(type)")
        }
        model.dnsRecordIpType = record
    }

    /// A consumer zone without a node of the service's load balancer (matched by AZ ID) has no
    /// load balancer to take its traffic.
    func warnUncoveredZones(_ endpoint: EndpointSpec, subnets: [Ref<Subnet>], service: EndpointService, subject: String) {
        let covered = Set(service.loadBalancers.flatMap { topology.loadBalancers[$0.index].nodes.map { topology.zones[$0.zone.index].id } })
        for (subnet, configuration) in zip(subnets, endpoint.subnets) {
            let zone = topology.zones[topology.subnets[subnet.index].zone.index]
            if !covered.contains(zone.id) {
                log.warning(configuration.subnet.location, "\(subject): zone \(zone.name) (\(zone.id)) of subnet '\(topology.subnets[subnet.index].name)' is not a zone of the load balancers of endpoint service '\(service.name)'; traffic entering the endpoint there has no load balancer node")
            }
        }
    }

    /// The service's private DNS name answers in the VPC when the endpoint enables it, the name
    /// is verified, and the VPC has both DNS attributes (docs/aws-behaviour.md §4).
    func resolvePrivateDNS(_ endpoint: EndpointSpec, into model: inout Endpoint, service: EndpointService,
                           vpc: VPC?, subject: String) {
        model.privateDnsEnabled = endpoint.privateDnsEnabled?.value ?? true
        guard model.privateDnsEnabled, let name = service.privateDnsName else { return }
        let location = endpoint.privateDnsEnabled?.location ?? endpoint.name.location
        guard service.privateDnsNameVerification == "verified" else {
            log.warning(location, "\(subject): the private DNS name \(name) of endpoint service '\(service.name)' is \(service.privateDnsNameVerification), not verified; it does not resolve to the endpoint until it is")
            return
        }
        guard let vpc, vpc.enableDnsSupport, vpc.enableDnsHostnames else {
            log.warning(location, "\(subject): private DNS needs enableDnsSupport and enableDnsHostnames on VPC '\(vpc?.name ?? "")'")
            return
        }
        model.privateDnsName = name
    }

    mutating func resolveGatewayEndpoint(_ endpoint: EndpointSpec, into model: inout Endpoint, vpc: Int,
                                         routes: inout [String: String], subject: String) {
        if let first = endpoint.subnets.first {
            log.error(first.subnet.location, "\(subject) is a Gateway endpoint: it has no subnets, only 'routeTables'")
        }
        if let first = endpoint.securityGroups.first {
            log.error(first.location, "\(subject) is a Gateway endpoint; those have no security groups")
        }
        if endpoint.routeTables.isEmpty {
            log.warning(endpoint.name.location, "\(subject) is associated with no route table; no traffic reaches it")
        }
        for reference in endpoint.routeTables {
            guard let table = routeTable(reference, inVPC: vpc, for: subject) else { continue }
            // At most one endpoint route per service in a route table (docs/aws-behaviour.md §7).
            let key = "\(table.index)/\(model.serviceName)"
            if let other = routes[key] {
                log.error(reference.location, "route table '\(reference.value)' already has a route to \(model.serviceName) through endpoint '\(other)'; a table holds one endpoint route per service")
                continue
            }
            routes[key] = model.name
            model.routeTables.append(table)
        }
    }

    mutating func resolveHostedZones() {
        for zone in spec.hostedZones {
            let name = Resolver.normalizedDomain(zone.name.value)
            let subject = "hosted zone '\(name)'"
            checkDomainName(zone.name, "the name of \(subject)")
            var vpcRefs: [Ref<VPC>] = []
            if zone.isPrivate {
                if zone.vpcs.isEmpty { log.error(zone.name.location, "\(subject) is private and needs at least one VPC in 'vpcs'") }
                for reference in zone.vpcs {
                    guard let index = vpcs.find(reference, from: subject, log: log) else { continue }
                    let vpc = topology.vpcs[index]
                    if !(vpc.enableDnsSupport && vpc.enableDnsHostnames) {
                        log.warning(reference.location, "\(subject): private hosted zones need enableDnsSupport and enableDnsHostnames on VPC '\(vpc.name)'")
                    }
                    vpcRefs.append(Ref(index))
                }
            } else if let first = zone.vpcs.first {
                log.error(first.location, "\(subject) is public; only private hosted zones are associated with VPCs")
            }
            var records: [HostedZone.Record] = []
            for record in zone.records {
                let recordName = Resolver.normalizedDomain(record.name.value)
                checkDomainName(record.name, "a record name of \(subject)")
                guard recordName == name || recordName.hasSuffix("." + name) else {
                    log.error(record.name.location, "record '\(recordName)' is not inside \(subject)")
                    continue
                }
                for value in record.values {
                    switch record.type.value {
                    case "A" where IPv4Address(value.value) == nil:
                        log.error(value.location, "an A record of \(subject) needs IPv4 addresses, not '\(value.value)'")
                    case "AAAA" where IPv6Address(value.value) == nil:
                        log.error(value.location, "an AAAA record of \(subject) needs IPv6 addresses, not '\(value.value)'")
                    default: break
                    }
                }
                if record.type.value == "CNAME" {
                    if record.values.count != 1 { log.error(record.location, "a CNAME record of \(subject) has exactly one value") }
                    for value in record.values { checkDomainName(value, "the value of a CNAME record of \(subject)") }
                }
                records.append(HostedZone.Record(name: recordName, type: record.type.value, ttl: record.ttl?.value ?? 300,
                                                 values: record.values.map(\.value)))
            }
            topology.hostedZones.append(HostedZone(name: name, isPrivate: zone.isPrivate, vpcs: vpcRefs, records: records))
        }
    }

    /// Reports a domain name that DNS cannot carry (RFC 1035 §2.3.4: labels of 1 to 63 octets,
    /// 255 octets in all on the wire): labels of letters, digits, '-' and '_' (service labels
    /// such as `_verify`), at most 253 characters written out.
    func checkDomainName(_ name: Located<String>, _ what: String) {
        let normalized = Resolver.normalizedDomain(name.value)
        let labels = normalized.split(separator: ".", omittingEmptySubsequences: false)
        if normalized.isEmpty || normalized.utf8.count > 253 || labels.contains(where: { $0.isEmpty || $0.utf8.count > 63 }) {
            log.error(name.location, "\(what), '\(name.value)', is not a domain name: labels of 1 to 63 characters, 253 in all")
        } else if let bad = normalized.unicodeScalars.first(where: { !$0.isASCII || !Directory.isNameCharacter(UInt8($0.value)) }) {
            log.error(name.location, "\(what), '\(name.value)', has the character '\(bad)'; domain names here are letters, digits, '-' and '_'")
        }
    }

    /// Lowercase, without a trailing dot.
    static func normalizedDomain(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }
}
