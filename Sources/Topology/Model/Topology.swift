import PacketWire

// The resolved topology: every reference checked and turned into a `Ref`, every ID, name and
// address decided. Immutable; the same file always resolves to the same topology.

/// A reference to the `index`-th element of one of the topology's lists.
public struct Ref<Element>: Hashable, Sendable, Comparable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (lhs: Ref, rhs: Ref) -> Bool { lhs.index < rhs.index }
}

public struct Topology: Sendable {
    public var region: String
    public var zones: [Zone]
    public var accounts: [Account]
    public var vpcs: [VPC]
    public var subnets: [Subnet]
    public var routeTables: [RouteTable]
    public var prefixLists: [PrefixList]
    public var securityGroups: [SecurityGroup]
    public var networkInterfaces: [NetworkInterface]
    public var hosts: [Host]
    public var loadBalancers: [LoadBalancer]
    public var targetGroups: [TargetGroup]
    public var endpointServices: [EndpointService]
    public var endpoints: [Endpoint]
    public var hostedZones: [HostedZone]

    public subscript(ref: Ref<Zone>) -> Zone { zones[ref.index] }
    public subscript(ref: Ref<VPC>) -> VPC { vpcs[ref.index] }
    public subscript(ref: Ref<Subnet>) -> Subnet { subnets[ref.index] }
    public subscript(ref: Ref<RouteTable>) -> RouteTable { routeTables[ref.index] }
    public subscript(ref: Ref<PrefixList>) -> PrefixList { prefixLists[ref.index] }
    public subscript(ref: Ref<SecurityGroup>) -> SecurityGroup { securityGroups[ref.index] }
    public subscript(ref: Ref<NetworkInterface>) -> NetworkInterface { networkInterfaces[ref.index] }
    public subscript(ref: Ref<Host>) -> Host { hosts[ref.index] }
    public subscript(ref: Ref<LoadBalancer>) -> LoadBalancer { loadBalancers[ref.index] }
    public subscript(ref: Ref<TargetGroup>) -> TargetGroup { targetGroups[ref.index] }
    public subscript(ref: Ref<EndpointService>) -> EndpointService { endpointServices[ref.index] }
    public subscript(ref: Ref<Endpoint>) -> Endpoint { endpoints[ref.index] }
}

/// A resource's tag (EC2's `Key` and `Value`).
public struct Tag: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

public struct Zone: Sendable, Equatable {
    public var name: String
    /// The AZ ID (`use1-az1`): zones of different accounts match by it.
    public var id: String
}

public struct Account: Sendable, Equatable {
    public var name: String
    public var id: String
}

public struct VPC: Sendable {
    public var name: String
    public var id: String
    public var accountID: String
    public var cidr: IPv4Prefix
    public var ipv6Cidr: IPv6Prefix?
    public var enableDnsSupport: Bool
    public var enableDnsHostnames: Bool
    public var internetGateway: InternetGateway?
    /// The table of subnets that name none.
    public var mainRouteTable: Ref<RouteTable>
    /// Its tags but `Name` (which is `name`), in the file's order.
    public var tags: [Tag] = []
    /// The Amazon-provided DNS server: the VPC CIDR's base plus two.
    public var resolver: IPv4Address { cidr.address(at: 2) }
}

public struct InternetGateway: Sendable {
    public var id: String
    public var edgeRouteTable: Ref<RouteTable>?
}

public struct Subnet: Sendable {
    public var name: String
    public var id: String
    public var vpc: Ref<VPC>
    public var zone: Ref<Zone>
    public var cidr: IPv4Prefix?
    public var ipv6Cidr: IPv6Prefix?
    public var routeTable: Ref<RouteTable>
    /// Its tags but `Name` (which is `name`), in the file's order.
    public var tags: [Tag] = []
}

public struct RouteTable: Sendable {
    public var name: String
    public var id: String
    public var vpc: Ref<VPC>
    public var isMain: Bool
    /// The routes, `local` ones and gateway endpoints' prefix-list routes included.
    public var routes: [Route]
    /// Its tags but `Name` (which is `name`), in the file's order.
    public var tags: [Tag] = []
}

public struct Route: Sendable {
    public enum Destination: Sendable, Hashable {
        case ipv4(IPv4Prefix)
        case ipv6(IPv6Prefix)
        case prefixList(Ref<PrefixList>)
    }

    public enum Target: Sendable, Equatable {
        case local
        case internetGateway
        case gatewayLoadBalancerEndpoint(Ref<Endpoint>)
        /// Added by associating the route table with a gateway endpoint (docs/aws-behaviour.md §7).
        case gatewayEndpoint(Ref<Endpoint>)
    }

    public var destination: Destination
    public var target: Target
}

public struct PrefixList: Sendable {
    public var id: String
    public var name: String
    public var cidrs: [IPv4Prefix]
}

public struct SecurityGroup: Sendable {
    public var name: String
    public var id: String
    public var vpc: Ref<VPC>
    public var ingress: [SecurityGroupRule]
    public var egress: [SecurityGroupRule]
    /// Its tags but `Name` (which is `name`), in the file's order.
    public var tags: [Tag] = []
}

public struct SecurityGroupRule: Sendable, Equatable {
    public enum IPProtocolMatch: String, Sendable {
        case all, tcp, udp, icmp, icmpv6
    }

    public enum Peer: Sendable, Equatable {
        case ipv4(IPv4Prefix)
        case ipv6(IPv6Prefix)
        case securityGroup(Ref<SecurityGroup>)
        case prefixList(Ref<PrefixList>)
    }

    public var protocolMatch: IPProtocolMatch
    public var ports: ClosedRange<UInt16>
    public var peer: Peer
}

/// An elastic network interface: a port of the dataplane.
public struct NetworkInterface: Sendable {
    public enum Owner: Sendable, Equatable {
        case host(Ref<Host>)
        case loadBalancer(Ref<LoadBalancer>)
        case endpoint(Ref<Endpoint>)
    }

    public var id: String
    public var subnet: Ref<Subnet>
    public var owner: Owner
    public var ipv4: IPv4Address?
    public var ipv6: IPv6Address?
    public var securityGroups: [Ref<SecurityGroup>]
    public var sourceDestCheck: Bool
    /// Created by AWS for an endpoint or a load balancer; visible, not manageable (§4).
    public var requesterManaged: Bool
    /// True for every endpoint ENI with an IPv6 address (docs/aws-behaviour.md §5).
    public var denyAllIgwTraffic: Bool
}

public struct Host: Sendable {
    public enum Placement: Sendable {
        /// In a VPC, behind its ENI.
        case vpc(Ref<NetworkInterface>)
        /// Outside every VPC: on the internet, or in an AWS service's network (`network` is then
        /// the service name).
        case external(network: String, ipv4: IPv4Address?, ipv6: IPv6Address?)
    }

    public enum ServerKind: String, Sendable {
        case http
        case tcpEcho = "tcp-echo"
        case udpEcho = "udp-echo"
        /// The reference GWLB appliance (`privet appliance`); the port is its health port.
        case appliance
    }

    public struct Server: Sendable, Equatable {
        public var kind: ServerKind
        public var port: UInt16
        /// The appliance's rules: inner packets it drops, and those it counts.
        public var drops: [ApplianceRule] = []
        public var counts: [ApplianceRule] = []

        public init(kind: ServerKind, port: UInt16, drops: [ApplianceRule] = [], counts: [ApplianceRule] = []) {
            self.kind = kind
            self.port = port
            self.drops = drops
            self.counts = counts
        }
    }

    public var name: String
    public var placement: Placement
    public var server: Server?
    /// The instance ID the file gives (an account's, kept by `privet import aws`).
    public var givenInstanceID: String?

    /// A host in a VPC is an EC2 instance: its ID, the file's or made from its name as other IDs
    /// are (the flow log's `instance-id`, an instance target's ID in the ELBv2 API); none
    /// outside VPCs.
    public var instanceID: String? {
        guard case .vpc = placement else { return nil }
        return givenInstanceID ?? Names.resourceID("i", kind: "instance", name: name)
    }
}

public struct LoadBalancer: Sendable {
    public enum Kind: String, Sendable {
        case network, gateway
    }

    /// One node per enabled zone, with its own ENI (and so its own private IP) in that zone.
    public struct Node: Sendable {
        public var zone: Ref<Zone>
        public var subnet: Ref<Subnet>
        public var interface: Ref<NetworkInterface>
    }

    public struct Listener: Sendable {
        public var protocolName: String
        public var port: UInt16
        public var targetGroup: Ref<TargetGroup>
        /// Seconds (docs/aws-behaviour.md §1: 350 by default, 60...6000); a GWLB's, of TCP flows.
        public var idleTimeout: Int
        /// A GWLB's `send_tcp_reset.on_idle_timeout.enabled` (docs/aws-behaviour.md §6).
        public var sendTcpResetOnIdleTimeout = false
    }

    public var name: String
    public var kind: Kind
    public var vpc: Ref<VPC>
    public var nodes: [Node]
    public var crossZone: Bool
    public var dualstack: Bool
    public var securityGroups: [Ref<SecurityGroup>]
    public var listeners: [Listener]
    public var dnsName: String
}

public struct TargetGroup: Sendable {
    public struct Target: Sendable {
        public var host: Ref<Host>
        public var interface: Ref<NetworkInterface>
        public var port: UInt16
        public var zone: Ref<Zone>

        public init(host: Ref<Host>, interface: Ref<NetworkInterface>, port: UInt16, zone: Ref<Zone>) {
            self.host = host
            self.interface = interface
            self.port = port
            self.zone = zone
        }
    }

    public struct HealthCheck: Sendable, Equatable {
        public var protocolName: String
        /// Nil: the traffic port of each target.
        public var port: UInt16?
        public var path: String?
        public var interval: Int
        public var timeout: Int
        public var healthyThreshold: Int
        public var unhealthyThreshold: Int
    }

    public enum CrossZone: String, Sendable {
        case enabled = "true"
        case disabled = "false"
        case useLoadBalancerConfiguration = "use_load_balancer_configuration"
    }

    public var name: String
    public var protocolName: String
    public var port: UInt16
    /// The VPC of its load balancer, or of its targets; nil for a group with neither.
    public var vpc: Ref<VPC>?
    public var targets: [Target]
    public var healthCheck: HealthCheck
    public var deregistrationDelay: Int
    public var connectionTermination: Bool
    public var crossZone: CrossZone
    public var stickiness: GatewayStickiness
    public var targetFailover: TargetFailover
    /// The NLB puts a PROXY v2 header before the first data of each connection it hands a
    /// target (docs/aws-behaviour.md §3).
    public var proxyProtocolV2: Bool
    /// The targets' address family: a dualstack NLB translates an IPv6 client's flow to an IPv4
    /// target of an `ipv4` group.
    public var ipv6Targets: Bool
    public var targetType: TargetType
    /// Whether a target sees the client's own address on flows that do not come through a VPC
    /// endpoint (through one, it always sees the node's, docs/aws-behaviour.md §3).
    public var preserveClientIp: Bool

    public enum TargetType: String, Sendable {
        case instance
        case ip
    }
}

public struct EndpointService: Sendable {
    public enum Kind: String, Sendable {
        case interface = "Interface"
        case gatewayLoadBalancer = "GatewayLoadBalancer"
    }

    public var name: String
    public var id: String
    public var serviceName: String
    public var accountID: String
    public var kind: Kind
    public var loadBalancers: [Ref<LoadBalancer>]
    public var acceptanceRequired: Bool
    public var allowedPrincipals: [String]
    public var privateDnsName: String?
    public var privateDnsNameVerification: String
    public var supportsIPv4: Bool
    public var supportsIPv6: Bool
    public var supportedRegions: [String]
    /// `<vpce-svc-id>.<region>.vpce.amazonaws.com`.
    public var dnsName: String
    /// Its tags but `Name` (which is `name`), in the file's order.
    public var tags: [Tag] = []
}

public struct Endpoint: Sendable {
    public enum Kind: String, Sendable {
        case interface = "Interface"
        case gatewayLoadBalancer = "GatewayLoadBalancer"
        case gateway = "Gateway"
    }

    public enum Service: Sendable, Equatable {
        case endpointService(Ref<EndpointService>)
        /// An AWS service reached through a gateway endpoint, by its prefix list.
        case gateway(Ref<PrefixList>)
    }

    public struct DNSName: Sendable, Equatable {
        public var name: String
        /// Nil for the regional name; the zone for a zonal one.
        public var zone: Ref<Zone>?
    }

    public var name: String
    public var id: String
    public var kind: Kind
    public var vpc: Ref<VPC>
    public var service: Service
    public var serviceName: String
    /// One ENI per subnet, at most one subnet per zone (interface, GWLB endpoints).
    public var interfaces: [Ref<NetworkInterface>]
    public var securityGroups: [Ref<SecurityGroup>]
    public var privateDnsEnabled: Bool
    public var ipAddressType: String
    public var dnsRecordIpType: String
    public var principal: String
    public var state: ConnectionState
    /// Regional name first, then one zonal name per zone (interface endpoints).
    public var dnsNames: [DNSName]
    /// The service's private DNS name when it answers in this VPC: enabled here, and verified.
    public var privateDnsName: String?
    public var routeTables: [Ref<RouteTable>]
    /// Its tags but `Name` (which is `name`), in the file's order.
    public var tags: [Tag] = []
}

public struct HostedZone: Sendable {
    public struct Record: Sendable, Equatable {
        public var name: String
        public var type: String
        public var ttl: Int
        public var values: [String]
    }

    public var name: String
    public var isPrivate: Bool
    public var vpcs: [Ref<VPC>]
    public var records: [Record]
}

/// What picks a GWLB flow's appliance (docs/aws-behaviour.md §6): the whole 5-tuple, or the
/// addresses and protocol (3-tuple), or the addresses alone (2-tuple).
public enum GatewayStickiness: String, CaseIterable, Sendable {
    case fiveTuple = "5-tuple"
    case threeTuple = "3-tuple"
    case twoTuple = "2-tuple"
}

/// A GWLB target group's `target_failover`: whether the flows of an appliance that turns
/// unhealthy move to a healthy one (`rebalance`) or stay (`no_rebalance`, the default).
public enum TargetFailover: String, CaseIterable, Sendable {
    case noRebalance = "no_rebalance"
    case rebalance
}
