// The topology as written in the file: names, references and values with their positions, not
// yet checked against each other. Field names follow the AWS API's (camelCase).
// `Resolver` turns a spec into a `Topology`, checking it as it goes.

/// The whole file.
public struct TopologySpec {
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
}

/// An Availability Zone: its name in this region, and its AZ ID, which is what matches zones
/// between accounts (docs/aws-behaviour.md §4).
public struct ZoneSpec {
    public var name: Located<String>
    public var id: Located<String>
}

public struct AccountSpec {
    public var name: Located<String>
    public var id: Located<String>
}

public struct VPCSpec {
    public var name: Located<String>
    public var id: Located<String>?
    public var account: Located<String>?
    public var cidr: Located<String>
    public var ipv6Cidr: Located<String>?
    public var enableDnsSupport = true
    public var enableDnsHostnames = true
    public var internetGateway: InternetGatewaySpec?
}

public struct InternetGatewaySpec {
    public var location: FilePosition
    public var id: Located<String>?
    /// The route table associated with the gateway itself (an edge association), which routes
    /// traffic coming in from the internet (docs/aws-behaviour.md §6, typical GWLB routing).
    public var edgeRouteTable: Located<String>?
}

public struct SubnetSpec {
    public var name: Located<String>
    public var id: Located<String>?
    public var vpc: Located<String>
    public var zone: Located<String>
    public var cidr: Located<String>?
    public var ipv6Cidr: Located<String>?
    public var routeTable: Located<String>?
}

public struct RouteTableSpec {
    public var name: Located<String>
    public var id: Located<String>?
    public var vpc: Located<String>
    public var routes: [RouteSpec] = []
}

public struct RouteSpec {
    public var location: FilePosition
    /// A CIDR, or a prefix list ID (`pl-...`).
    public var destination: Located<String>
    /// `local`, `internetGateway`, or the name of a Gateway Load Balancer endpoint.
    public var target: Located<String>
}

public struct PrefixListSpec {
    public var id: Located<String>
    /// The AWS service name the list stands for (`com.amazonaws.us-east-1.s3`).
    public var name: Located<String>
    public var cidrs: [Located<String>]
}

public struct SecurityGroupSpec {
    public var name: Located<String>
    public var id: Located<String>?
    public var vpc: Located<String>
    public var ingress: [RuleSpec] = []
    /// Nil when not written: AWS's default egress rule allows everything.
    public var egress: [RuleSpec]?
}

public struct RuleSpec {
    public var location: FilePosition
    /// `tcp`, `udp`, `icmp`, `icmpv6` or `all`.
    public var protocolName: Located<String>
    /// "80", "1024-65535"; nil for all ports.
    public var ports: Located<String>?
    /// Exactly one peer: a CIDR, a security group name, or a prefix list ID.
    public var cidr: Located<String>?
    public var securityGroup: Located<String>?
    public var prefixList: Located<String>?
}

public struct HostSpec {
    public var name: Located<String>
    /// The subnet of a host inside a VPC.
    public var subnet: Located<String>?
    /// For a host outside every VPC: `internet`, or the service name of a gateway endpoint's
    /// service (the S3 stand-in).
    public var network: Located<String>?
    public var addresses: [Located<String>] = []
    public var securityGroups: [Located<String>] = []
    public var sourceDestCheck = true
    public var server: ServerSpec?
}

public struct ServerSpec {
    public var location: FilePosition
    /// `http`, `tcp-echo`, `udp-echo` or `appliance` (the reference GWLB appliance; `port` is its
    /// HTTP health-check port).
    public var kind: Located<String>
    public var port: Located<Int>
    /// The appliance's rules on inner packets: `tcp`, `udp:53`, ...
    public var drop: [Located<String>] = []
    public var count: [Located<String>] = []
}

public struct LoadBalancerSpec {
    public var name: Located<String>
    public var type: Located<String>
    public var subnets: [Located<String>]
    public var crossZone: Located<Bool>?
    /// `ipv4` or `dualstack`.
    public var ipAddressType: Located<String>?
    public var securityGroups: [Located<String>] = []
    public var listeners: [ListenerSpec] = []
}

public struct ListenerSpec {
    public var location: FilePosition
    public var protocolName: Located<String>?
    public var port: Located<Int>?
    public var targetGroup: Located<String>
    /// `tcp.idle_timeout.seconds`, 60...6000, default 350 (docs/aws-behaviour.md §1).
    public var idleTimeout: Located<Int>?
    /// GWLB `send_tcp_reset.on_idle_timeout.enabled`, default false (docs/aws-behaviour.md §6).
    public var sendTcpResetOnIdleTimeout: Located<Bool>?
}

public struct TargetGroupSpec {
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
}

public struct TargetSpec {
    public var location: FilePosition
    public var host: Located<String>
    public var port: Located<Int>?
}

public struct HealthCheckSpec {
    public var location: FilePosition
    public var protocolName: Located<String>?
    /// A port, or `traffic-port`.
    public var port: Located<String>?
    public var path: Located<String>?
    public var interval: Located<Int>?
    public var timeout: Located<Int>?
    public var healthyThreshold: Located<Int>?
    public var unhealthyThreshold: Located<Int>?
}

public struct EndpointServiceSpec {
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
}

public struct EndpointSpec {
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
}

/// A subnet of an endpoint, with the addresses the consumer designated for its ENI (optional).
public struct SubnetConfigurationSpec {
    public var subnet: Located<String>
    public var ipv4: Located<String>?
    public var ipv6: Located<String>?
}

public struct HostedZoneSpec {
    public var name: Located<String>
    public var isPrivate: Bool
    public var vpcs: [Located<String>] = []
    public var records: [RecordSpec] = []
}

public struct RecordSpec {
    public var location: FilePosition
    public var name: Located<String>
    /// `A`, `AAAA`, `CNAME` or `TXT`.
    public var type: Located<String>
    public var ttl: Located<Int>?
    public var values: [Located<String>]
}
