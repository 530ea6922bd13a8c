// The topology as written in the file: names, references and values with their positions, not
// yet checked against each other. Field names follow the AWS API's (camelCase).
// `Resolver` turns a spec into a `Topology`, checking it as it goes.

/// The whole file.
public struct TopologySpec: Sendable {
    public var region: Located<String>
    public var zones: [ZoneSpec] = []
    public var accounts: [AccountSpec] = []
    public var vpcs: [VPCSpec] = []
    public var subnets: [SubnetSpec] = []
    public var routeTables: [RouteTableSpec] = []
    public var prefixLists: [PrefixListSpec] = []
    public var securityGroups: [SecurityGroupSpec] = []
    public var hosts: [HostSpec] = []
    public var loadBalancers: [LoadBalancerSpec] = []
    public var targetGroups: [TargetGroupSpec] = []
    public var endpointServices: [EndpointServiceSpec] = []
    public var endpoints: [EndpointSpec] = []
    public var hostedZones: [HostedZoneSpec] = []

    public init(region: Located<String>, zones: [ZoneSpec] = [], accounts: [AccountSpec] = [], vpcs: [VPCSpec] = [],
                subnets: [SubnetSpec] = [], routeTables: [RouteTableSpec] = [], prefixLists: [PrefixListSpec] = [],
                securityGroups: [SecurityGroupSpec] = [], hosts: [HostSpec] = [],
                loadBalancers: [LoadBalancerSpec] = [], targetGroups: [TargetGroupSpec] = [],
                endpointServices: [EndpointServiceSpec] = [], endpoints: [EndpointSpec] = [],
                hostedZones: [HostedZoneSpec] = []) {
        self.region = region
        self.zones = zones
        self.accounts = accounts
        self.vpcs = vpcs
        self.subnets = subnets
        self.routeTables = routeTables
        self.prefixLists = prefixLists
        self.securityGroups = securityGroups
        self.hosts = hosts
        self.loadBalancers = loadBalancers
        self.targetGroups = targetGroups
        self.endpointServices = endpointServices
        self.endpoints = endpoints
        self.hostedZones = hostedZones
    }
}

/// An Availability Zone: its name in this region, and its AZ ID, which is what matches zones
/// between accounts (docs/aws-behaviour.md §4).
public struct ZoneSpec: Sendable {
    public var name: Located<String>
    public var id: Located<String>

    public init(name: Located<String>, id: Located<String>) {
        self.name = name
        self.id = id
    }
}

public struct AccountSpec: Sendable {
    public var name: Located<String>
    public var id: Located<String>

    public init(name: Located<String>, id: Located<String>) {
        self.name = name
        self.id = id
    }
}

public struct VPCSpec: Sendable {
    public var name: Located<String>
    public var id: Located<String>?
    public var account: Located<String>?
    public var cidr: Located<String>
    public var ipv6Cidr: Located<String>?
    public var enableDnsSupport = true
    public var enableDnsHostnames = true
    public var internetGateway: InternetGatewaySpec?
    /// The resource's tags but `Name` (its name): `tags: {team: web}`.
    public var tags: [TagSpec] = []

    public init(name: Located<String>, id: Located<String>? = nil, account: Located<String>? = nil,
                cidr: Located<String>, ipv6Cidr: Located<String>? = nil, internetGateway: InternetGatewaySpec? = nil) {
        self.name = name
        self.id = id
        self.account = account
        self.cidr = cidr
        self.ipv6Cidr = ipv6Cidr
        self.internetGateway = internetGateway
    }
}

public struct InternetGatewaySpec: Sendable {
    public var location: FilePosition
    public var id: Located<String>?
    /// The route table associated with the gateway itself (an edge association), which routes
    /// traffic coming in from the internet (docs/aws-behaviour.md §6, typical GWLB routing).
    public var edgeRouteTable: Located<String>?

    public init(location: FilePosition, id: Located<String>? = nil, edgeRouteTable: Located<String>? = nil) {
        self.location = location
        self.id = id
        self.edgeRouteTable = edgeRouteTable
    }
}

public struct SubnetSpec: Sendable {
    public var name: Located<String>
    public var id: Located<String>?
    public var vpc: Located<String>
    public var zone: Located<String>
    public var cidr: Located<String>?
    public var ipv6Cidr: Located<String>?
    public var routeTable: Located<String>?
    /// The resource's tags but `Name` (its name): `tags: {team: web}`.
    public var tags: [TagSpec] = []

    public init(name: Located<String>, id: Located<String>? = nil, vpc: Located<String>, zone: Located<String>,
                cidr: Located<String>? = nil, ipv6Cidr: Located<String>? = nil, routeTable: Located<String>? = nil) {
        self.name = name
        self.id = id
        self.vpc = vpc
        self.zone = zone
        self.cidr = cidr
        self.ipv6Cidr = ipv6Cidr
        self.routeTable = routeTable
    }
}

public struct RouteTableSpec: Sendable {
    public var name: Located<String>
    public var id: Located<String>?
    public var vpc: Located<String>
    public var routes: [RouteSpec] = []
    /// The resource's tags but `Name` (its name): `tags: {team: web}`.
    public var tags: [TagSpec] = []

    public init(name: Located<String>, id: Located<String>? = nil, vpc: Located<String>, routes: [RouteSpec] = []) {
        self.name = name
        self.id = id
        self.vpc = vpc
        self.routes = routes
    }
}

public struct RouteSpec: Sendable {
    public var location: FilePosition
    /// A CIDR, or a prefix list ID (`pl-...`).
    public var destination: Located<String>
    /// `local`, `internetGateway`, or the name of a Gateway Load Balancer endpoint.
    public var target: Located<String>

    public init(location: FilePosition, destination: Located<String>, target: Located<String>) {
        self.location = location
        self.destination = destination
        self.target = target
    }
}

public struct PrefixListSpec: Sendable {
    public var id: Located<String>
    /// The AWS service name the list stands for (`com.amazonaws.us-east-1.s3`).
    public var name: Located<String>
    public var cidrs: [Located<String>]

    public init(id: Located<String>, name: Located<String>, cidrs: [Located<String>]) {
        self.id = id
        self.name = name
        self.cidrs = cidrs
    }
}

public struct SecurityGroupSpec: Sendable {
    public var name: Located<String>
    public var id: Located<String>?
    public var vpc: Located<String>
    public var ingress: [RuleSpec] = []
    /// Nil when not written: AWS's default egress rule allows everything.
    public var egress: [RuleSpec]?
    /// The resource's tags but `Name` (its name): `tags: {team: web}`.
    public var tags: [TagSpec] = []

    public init(name: Located<String>, id: Located<String>? = nil, vpc: Located<String>, ingress: [RuleSpec] = [],
                egress: [RuleSpec]? = nil) {
        self.name = name
        self.id = id
        self.vpc = vpc
        self.ingress = ingress
        self.egress = egress
    }
}

public struct RuleSpec: Sendable {
    public var location: FilePosition
    /// `tcp`, `udp`, `icmp`, `icmpv6` or `all`.
    public var protocolName: Located<String>
    /// "80", "1024-65535"; nil for all ports.
    public var ports: Located<String>?
    /// Exactly one peer: a CIDR, a security group name, or a prefix list ID.
    public var cidr: Located<String>?
    public var securityGroup: Located<String>?
    public var prefixList: Located<String>?

    public init(location: FilePosition, protocolName: Located<String>, ports: Located<String>? = nil,
                cidr: Located<String>? = nil, securityGroup: Located<String>? = nil, prefixList: Located<String>? = nil) {
        self.location = location
        self.protocolName = protocolName
        self.ports = ports
        self.cidr = cidr
        self.securityGroup = securityGroup
        self.prefixList = prefixList
    }
}

public struct HostSpec: Sendable {
    public var name: Located<String>
    /// The instance ID of a host in a VPC; derived from the name when not given.
    public var id: Located<String>?
    /// The subnet of a host inside a VPC.
    public var subnet: Located<String>?
    /// For a host outside every VPC: `internet`, or the service name of a gateway endpoint's
    /// service (the S3 stand-in).
    public var network: Located<String>?
    public var addresses: [Located<String>] = []
    public var securityGroups: [Located<String>] = []
    public var sourceDestCheck = true
    public var server: ServerSpec?

    public init(name: Located<String>, subnet: Located<String>? = nil, network: Located<String>? = nil,
                addresses: [Located<String>] = [], securityGroups: [Located<String>] = [], server: ServerSpec? = nil) {
        self.name = name
        self.subnet = subnet
        self.network = network
        self.addresses = addresses
        self.securityGroups = securityGroups
        self.server = server
    }
}

public struct ServerSpec: Sendable {
    public var location: FilePosition
    /// `http`, `tcp-echo`, `udp-echo` or `appliance` (the reference GWLB appliance; `port` is its
    /// HTTP health-check port).
    public var kind: Located<String>
    public var port: Located<Int>
    /// The appliance's rules on inner packets: `tcp`, `udp:53`, ...
    public var drop: [Located<String>] = []
    public var count: [Located<String>] = []

    public init(location: FilePosition, kind: Located<String>, port: Located<Int>, drop: [Located<String>] = [],
                count: [Located<String>] = []) {
        self.location = location
        self.kind = kind
        self.port = port
        self.drop = drop
        self.count = count
    }
}

public struct LoadBalancerSpec: Sendable {
    public var name: Located<String>
    public var type: Located<String>
    public var subnets: [Located<String>]
    public var crossZone: Located<Bool>?
    /// `ipv4` or `dualstack`.
    public var ipAddressType: Located<String>?
    public var securityGroups: [Located<String>] = []
    public var listeners: [ListenerSpec] = []

    public init(name: Located<String>, type: Located<String>, subnets: [Located<String>],
                crossZone: Located<Bool>? = nil, ipAddressType: Located<String>? = nil,
                securityGroups: [Located<String>] = [], listeners: [ListenerSpec] = []) {
        self.name = name
        self.type = type
        self.subnets = subnets
        self.crossZone = crossZone
        self.ipAddressType = ipAddressType
        self.securityGroups = securityGroups
        self.listeners = listeners
    }
}

public struct ListenerSpec: Sendable {
    public var location: FilePosition
    public var protocolName: Located<String>?
    public var port: Located<Int>?
    public var targetGroup: Located<String>
    /// `tcp.idle_timeout.seconds`, 60...6000, default 350 (docs/aws-behaviour.md §1).
    public var idleTimeout: Located<Int>?
    /// GWLB `send_tcp_reset.on_idle_timeout.enabled`, default false (docs/aws-behaviour.md §6).
    public var sendTcpResetOnIdleTimeout: Located<Bool>?

    public init(location: FilePosition, protocolName: Located<String>? = nil, port: Located<Int>? = nil,
                targetGroup: Located<String>, idleTimeout: Located<Int>? = nil,
                sendTcpResetOnIdleTimeout: Located<Bool>? = nil) {
        self.location = location
        self.protocolName = protocolName
        self.port = port
        self.targetGroup = targetGroup
        self.idleTimeout = idleTimeout
        self.sendTcpResetOnIdleTimeout = sendTcpResetOnIdleTimeout
    }
}

public struct TargetGroupSpec: Sendable {
    public var name: Located<String>
    public var protocolName: Located<String>
    public var port: Located<Int>?
    public var targets: [TargetSpec] = []
    public var healthCheck: HealthCheckSpec?
    public var deregistrationDelay: Located<Int>?
    /// `target_health_state.unhealthy.connection_termination.enabled`, default true.
    public var connectionTermination: Located<Bool>?
    /// `load_balancing.cross_zone.enabled`: true, false, or `use_load_balancer_configuration`.
    public var crossZone: Located<String>?
    /// GWLB stickiness: `5-tuple` (default), `3-tuple`, `2-tuple`.
    public var stickiness: Located<GatewayStickiness>?
    /// GWLB `target_failover`: `no_rebalance` (default) or `rebalance`.
    public var targetFailover: Located<TargetFailover>?
    /// `proxy_protocol_v2.enabled`, default false.
    public var proxyProtocolV2: Located<Bool>?
    /// `ipv4` (default) or `ipv6`: the address family of the group's targets.
    public var ipAddressType: Located<String>?
    /// `instance` (default) or `ip`.
    public var targetType: Located<String>?
    /// `preserve_client_ip.enabled`; its default follows the target type and protocol.
    public var preserveClientIp: Located<Bool>?

    public init(name: Located<String>, protocolName: Located<String>, port: Located<Int>? = nil,
                targets: [TargetSpec] = [], healthCheck: HealthCheckSpec? = nil,
                deregistrationDelay: Located<Int>? = nil, connectionTermination: Located<Bool>? = nil,
                crossZone: Located<String>? = nil, stickiness: Located<GatewayStickiness>? = nil,
                targetFailover: Located<TargetFailover>? = nil, proxyProtocolV2: Located<Bool>? = nil,
                ipAddressType: Located<String>? = nil, targetType: Located<String>? = nil,
                preserveClientIp: Located<Bool>? = nil) {
        self.name = name
        self.protocolName = protocolName
        self.port = port
        self.targets = targets
        self.healthCheck = healthCheck
        self.deregistrationDelay = deregistrationDelay
        self.connectionTermination = connectionTermination
        self.crossZone = crossZone
        self.stickiness = stickiness
        self.targetFailover = targetFailover
        self.proxyProtocolV2 = proxyProtocolV2
        self.ipAddressType = ipAddressType
        self.targetType = targetType
        self.preserveClientIp = preserveClientIp
    }
}

public struct TargetSpec: Sendable {
    public var location: FilePosition
    public var host: Located<String>
    public var port: Located<Int>?

    public init(location: FilePosition, host: Located<String>, port: Located<Int>? = nil) {
        self.location = location
        self.host = host
        self.port = port
    }
}

public struct HealthCheckSpec: Sendable {
    public var location: FilePosition
    public var protocolName: Located<String>?
    /// A port, or `traffic-port`.
    public var port: Located<String>?
    public var path: Located<String>?
    public var interval: Located<Int>?
    public var timeout: Located<Int>?
    public var healthyThreshold: Located<Int>?
    public var unhealthyThreshold: Located<Int>?

    public init(location: FilePosition, protocolName: Located<String>? = nil, port: Located<String>? = nil,
                path: Located<String>? = nil, interval: Located<Int>? = nil, timeout: Located<Int>? = nil,
                healthyThreshold: Located<Int>? = nil, unhealthyThreshold: Located<Int>? = nil) {
        self.location = location
        self.protocolName = protocolName
        self.port = port
        self.path = path
        self.interval = interval
        self.timeout = timeout
        self.healthyThreshold = healthyThreshold
        self.unhealthyThreshold = unhealthyThreshold
    }
}

public struct EndpointServiceSpec: Sendable {
    public var name: Located<String>
    public var id: Located<String>?
    public var account: Located<String>?
    public var loadBalancers: [Located<String>]
    public var acceptanceRequired = true
    public var allowedPrincipals: [Located<String>] = []
    public var privateDnsName: Located<String>?
    /// `pendingVerification` (default), `verified` or `failed` (docs/aws-behaviour.md §4).
    public var privateDnsNameVerification: Located<String>?
    public var supportedIpAddressTypes: [Located<String>] = []
    public var supportedRegions: [Located<String>] = []
    /// The resource's tags but `Name` (its name): `tags: {team: web}`.
    public var tags: [TagSpec] = []

    public init(name: Located<String>, id: Located<String>? = nil, account: Located<String>? = nil,
                loadBalancers: [Located<String>], allowedPrincipals: [Located<String>] = [],
                privateDnsName: Located<String>? = nil, privateDnsNameVerification: Located<String>? = nil,
                supportedIpAddressTypes: [Located<String>] = [], supportedRegions: [Located<String>] = []) {
        self.name = name
        self.id = id
        self.account = account
        self.loadBalancers = loadBalancers
        self.allowedPrincipals = allowedPrincipals
        self.privateDnsName = privateDnsName
        self.privateDnsNameVerification = privateDnsNameVerification
        self.supportedIpAddressTypes = supportedIpAddressTypes
        self.supportedRegions = supportedRegions
    }
}

public struct EndpointSpec: Sendable {
    public var name: Located<String>
    public var id: Located<String>?
    public var type: Located<String>
    public var vpc: Located<String>
    /// The name of an endpoint service in this file.
    public var service: Located<String>?
    /// A service by its service name (`com.amazonaws.vpce...` or `com.amazonaws.<region>.s3`).
    public var serviceName: Located<String>?
    public var subnets: [SubnetConfigurationSpec] = []
    public var securityGroups: [Located<String>] = []
    public var privateDnsEnabled: Located<Bool>?
    public var ipAddressType: Located<String>?
    public var dnsRecordIpType: Located<String>?
    public var principal: Located<String>?
    /// The provider's decision: `accepted`, `rejected`, or `none` (not decided yet).
    public var decision: Located<String>?
    /// Gateway endpoints: the route tables associated with the endpoint.
    public var routeTables: [Located<String>] = []
    /// The resource's tags but `Name` (its name): `tags: {team: web}`.
    public var tags: [TagSpec] = []

    public init(name: Located<String>, id: Located<String>? = nil, type: Located<String>, vpc: Located<String>,
                service: Located<String>? = nil, serviceName: Located<String>? = nil,
                subnets: [SubnetConfigurationSpec] = [], securityGroups: [Located<String>] = [],
                privateDnsEnabled: Located<Bool>? = nil, ipAddressType: Located<String>? = nil,
                dnsRecordIpType: Located<String>? = nil, principal: Located<String>? = nil,
                decision: Located<String>? = nil, routeTables: [Located<String>] = []) {
        self.name = name
        self.id = id
        self.type = type
        self.vpc = vpc
        self.service = service
        self.serviceName = serviceName
        self.subnets = subnets
        self.securityGroups = securityGroups
        self.privateDnsEnabled = privateDnsEnabled
        self.ipAddressType = ipAddressType
        self.dnsRecordIpType = dnsRecordIpType
        self.principal = principal
        self.decision = decision
        self.routeTables = routeTables
    }
}

/// A subnet of an endpoint, with the addresses the consumer designated for its ENI (optional).
public struct SubnetConfigurationSpec: Sendable {
    public var subnet: Located<String>
    public var ipv4: Located<String>?
    public var ipv6: Located<String>?

    public init(subnet: Located<String>, ipv4: Located<String>? = nil, ipv6: Located<String>? = nil) {
        self.subnet = subnet
        self.ipv4 = ipv4
        self.ipv6 = ipv6
    }
}

public struct HostedZoneSpec: Sendable {
    public var name: Located<String>
    public var isPrivate: Bool
    public var vpcs: [Located<String>] = []
    public var records: [RecordSpec] = []

    public init(name: Located<String>, isPrivate: Bool, vpcs: [Located<String>] = [], records: [RecordSpec] = []) {
        self.name = name
        self.isPrivate = isPrivate
        self.vpcs = vpcs
        self.records = records
    }
}

public struct RecordSpec: Sendable {
    public var location: FilePosition
    public var name: Located<String>
    /// `A`, `AAAA`, `CNAME` or `TXT`.
    public var type: Located<String>
    public var ttl: Located<Int>?
    public var values: [Located<String>]

    public init(location: FilePosition, name: Located<String>, type: Located<String>, ttl: Located<Int>? = nil,
                values: [Located<String>]) {
        self.location = location
        self.name = name
        self.type = type
        self.ttl = ttl
        self.values = values
    }
}

/// One tag of a resource, as the file writes it.
public struct TagSpec: Sendable {
    public var key: Located<String>
    public var value: Located<String>

    public init(key: Located<String>, value: Located<String>) {
        self.key = key
        self.value = value
    }
}
