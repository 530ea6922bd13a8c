import Foundation
import PacketWire

/// What `privet describe` shows of a topology, in one structure that renders as text, JSON or
/// a Mermaid diagram.
public struct TopologyDescription: Encodable {
    struct ZoneView: Encodable { let name: String; let id: String }

    struct ServiceView: Encodable {
        let name: String, id: String, serviceName: String, state: String, type: String
        let account: String, acceptanceRequired: Bool, allowedPrincipals: [String]
        let privateDnsName: String?, privateDnsNameVerification: String?
        let supportedIpAddressTypes: [String], loadBalancers: [String], dnsName: String
    }

    struct InterfaceView: Encodable {
        let id: String, subnet: String, zone: String, zoneId: String, ipv4: String?, ipv6: String?
    }

    struct DNSNameView: Encodable { let name: String; let scope: String }

    struct EndpointView: Encodable {
        let name: String, id: String, type: String, state: String, vpc: String, vpcId: String
        let service: String, serviceName: String, ipAddressType: String?, dnsRecordIpType: String?
        let principal: String?, securityGroups: [String], interfaces: [InterfaceView], dnsNames: [DNSNameView]
        let routeTables: [String]
    }

    struct TargetView: Encodable { let host: String; let address: String; let port: UInt16; let zone: String }

    struct NodeView: Encodable { let zone: String; let zoneId: String; let ipv4: String?; let ipv6: String?; let targets: [TargetView] }

    struct ListenerView: Encodable {
        let `protocol`: String, port: UInt16, targetGroup: String, idleTimeoutSeconds: Int
    }

    struct LoadBalancerView: Encodable {
        let name: String, type: String, vpc: String, dnsName: String, crossZone: Bool, ipAddressType: String
        let listeners: [ListenerView], nodes: [NodeView]
    }

    struct RouteView: Encodable { let destination: String; let target: String }

    struct RouteTableView: Encodable {
        let name: String, id: String, vpc: String, main: Bool, subnets: [String], routes: [RouteView]
    }

    struct HostView: Encodable {
        let name: String, placement: String, ipv4: String?, ipv6: String?, server: String?
    }

    /// An ENI as flow-log records name it: its ID, what owns it, where, its addresses and groups.
    struct NetworkInterfaceView: Encodable {
        let id: String, owner: String, instance: String?, account: String, subnet: String, zone: String, ipv4: String?
        let ipv6: String?, securityGroups: [String]
    }

    struct VPCView: Encodable {
        let name: String, id: String, account: String, cidr: String, ipv6Cidr: String?, resolver: String
        let internetGateway: String?, hosts: [HostView]
    }

    let region: String
    let zones: [ZoneView]
    let vpcs: [VPCView]
    let externalHosts: [HostView]
    let endpointServices: [ServiceView]
    let endpoints: [EndpointView]
    let loadBalancers: [LoadBalancerView]
    let routeTables: [RouteTableView]
    let networkInterfaces: [NetworkInterfaceView]

    private let topology: Topology
    /// The resolved topology, for the diagram's relations.
    var topologyForDiagram: Topology { topology }

    enum CodingKeys: String, CodingKey {
        case region, zones, vpcs, externalHosts, endpointServices, endpoints, loadBalancers, routeTables, networkInterfaces
    }

    public init(_ topology: Topology) {
        self.topology = topology
        region = topology.region
        zones = topology.zones.map { ZoneView(name: $0.name, id: $0.id) }
        func hostView(_ host: Host) -> HostView {
            let server = host.server.map { "\($0.kind.rawValue) \($0.port)" }
            switch host.placement {
            case .vpc(let interface):
                let eni = topology[interface]
                return HostView(name: host.name, placement: topology[eni.subnet].name, ipv4: eni.ipv4?.description,
                                ipv6: eni.ipv6?.description, server: server)
            case .external(let network, let ipv4, let ipv6):
                return HostView(name: host.name, placement: network, ipv4: ipv4?.description, ipv6: ipv6?.description, server: server)
            }
        }
        vpcs = topology.vpcs.indices.map { index in
            let vpc = topology.vpcs[index]
            let hosts = topology.hosts.filter { host in
                if case .vpc(let interface) = host.placement { return topology[topology[interface].subnet].vpc.index == index }
                return false
            }
            return VPCView(name: vpc.name, id: vpc.id, account: vpc.accountID, cidr: vpc.cidr.description,
                           ipv6Cidr: vpc.ipv6Cidr?.description, resolver: vpc.resolver.description,
                           internetGateway: vpc.internetGateway?.id, hosts: hosts.map(hostView))
        }
        externalHosts = topology.hosts.filter { if case .external = $0.placement { return true } else { return false } }.map(hostView)
        endpointServices = topology.endpointServices.map { service in
            ServiceView(name: service.name, id: service.id, serviceName: service.serviceName, state: "available",
                        type: service.kind.rawValue, account: service.accountID, acceptanceRequired: service.acceptanceRequired,
                        allowedPrincipals: service.allowedPrincipals, privateDnsName: service.privateDnsName,
                        privateDnsNameVerification: service.privateDnsName == nil ? nil : service.privateDnsNameVerification,
                        supportedIpAddressTypes: (service.supportsIPv4 ? ["ipv4"] : []) + (service.supportsIPv6 ? ["ipv6"] : []),
                        loadBalancers: service.loadBalancers.map { topology[$0].name }, dnsName: service.dnsName)
        }
        endpoints = topology.endpoints.map { endpoint in
            let service: String
            switch endpoint.service {
            case .endpointService(let ref): service = topology[ref].name
            case .gateway(let ref): service = topology[ref].id
            }
            let interfaces = endpoint.interfaces.map { ref -> InterfaceView in
                let eni = topology[ref]
                let subnet = topology[eni.subnet]
                return InterfaceView(id: eni.id, subnet: subnet.name, zone: topology[subnet.zone].name,
                                     zoneId: topology[subnet.zone].id, ipv4: eni.ipv4?.description, ipv6: eni.ipv6?.description)
            }
            var names = endpoint.dnsNames.map { DNSNameView(name: $0.name, scope: $0.zone.map { topology[$0].name } ?? "regional") }
            if let privateName = endpoint.privateDnsName { names.append(DNSNameView(name: privateName, scope: "private DNS")) }
            let gateway = endpoint.kind == .gateway
            return EndpointView(
                name: endpoint.name, id: endpoint.id, type: endpoint.kind.rawValue, state: endpoint.state.rawValue,
                vpc: topology[endpoint.vpc].name, vpcId: topology[endpoint.vpc].id, service: service,
                serviceName: endpoint.serviceName, ipAddressType: gateway ? nil : endpoint.ipAddressType,
                dnsRecordIpType: endpoint.kind == .interface ? endpoint.dnsRecordIpType : nil,
                principal: gateway ? nil : endpoint.principal, securityGroups: endpoint.securityGroups.map { topology[$0].name },
                interfaces: interfaces, dnsNames: names, routeTables: endpoint.routeTables.map { topology[$0].name })
        }
        loadBalancers = topology.loadBalancers.map { balancer in
            let groups = Set(balancer.listeners.map(\.targetGroup))
            let targets = groups.sorted().flatMap { topology[$0].targets }
            let nodes = balancer.nodes.map { node -> NodeView in
                let eni = topology[node.interface]
                let here = targets.filter { $0.zone == node.zone }.map { target in
                    TargetView(host: topology[target.host].name, address: topology[target.interface].ipv4?.description ?? "",
                               port: target.port, zone: topology[target.zone].name)
                }
                return NodeView(zone: topology[node.zone].name, zoneId: topology[node.zone].id, ipv4: eni.ipv4?.description,
                                ipv6: eni.ipv6?.description, targets: here)
            }
            return LoadBalancerView(
                name: balancer.name, type: balancer.kind.rawValue, vpc: topology[balancer.vpc].name, dnsName: balancer.dnsName,
                crossZone: balancer.crossZone, ipAddressType: balancer.dualstack ? "dualstack" : "ipv4",
                listeners: balancer.listeners.map {
                    ListenerView(protocol: $0.protocolName, port: $0.port, targetGroup: topology[$0.targetGroup].name,
                                 idleTimeoutSeconds: $0.idleTimeout)
                },
                nodes: nodes)
        }
        networkInterfaces = topology.networkInterfaces.indices.map { index in
            let eni = topology.networkInterfaces[index], subnet = topology[eni.subnet]
            return NetworkInterfaceView(
                id: eni.id, owner: topology.owner(of: index), instance: topology.instanceID(of: index),
                account: topology[subnet.vpc].accountID, subnet: subnet.name,
                zone: topology[subnet.zone].name, ipv4: eni.ipv4?.description, ipv6: eni.ipv6?.description,
                securityGroups: eni.securityGroups.map { "\(topology[$0].id) (\(topology[$0].name))" })
        }
        routeTables = topology.routeTables.indices.compactMap { index in
            let table = topology.routeTables[index]
            let subnets = topology.subnets.filter { $0.routeTable.index == index }.map(\.name)
            let gateway = topology.vpcs.first { $0.internetGateway?.edgeRouteTable?.index == index }
            // A main table that no subnet uses says nothing worth printing.
            if table.isMain && subnets.isEmpty { return nil }
            let routes = table.routes.map { route -> RouteView in
                let destination: String
                switch route.destination {
                case .ipv4(let prefix): destination = prefix.description
                case .ipv6(let prefix): destination = prefix.description
                case .prefixList(let ref): destination = "\(topology[ref].id) (\(topology[ref].name))"
                }
                let target: String
                switch route.target {
                case .local: target = "local"
                case .internetGateway: target = topology[table.vpc].internetGateway?.id ?? "internet gateway"
                case .gatewayLoadBalancerEndpoint(let ref), .gatewayEndpoint(let ref):
                    target = "\(topology[ref].id) (\(topology[ref].name))"
                }
                return RouteView(destination: destination, target: target)
            }
            return RouteTableView(name: table.name, id: table.id, vpc: topology[table.vpc].name, main: table.isMain,
                                  subnets: subnets + (gateway.map { ["edge: \($0.internetGateway!.id)"] } ?? []), routes: routes)
        }
    }

    /// Pretty-printed JSON with sorted keys: stable from run to run.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
