import Topology

/// The default topology with the web targets reached over IPv6 (`ipAddressType: ipv6`).
public let ipv6TargetsYAML = Topology.defaultYAML.replacingOccurrences(
    of: "    targets: [{host: web-a}, {host: web-b}]\n", with: "    targets: [{host: web-a}, {host: web-b}]\n    ipAddressType: ipv6\n")

/// The default topology with cross-zone load balancing on.
public let crossZoneYAML = Topology.defaultYAML.replacingOccurrences(
    of: "    ipAddressType: dualstack\n    listeners:", with: "    ipAddressType: dualstack\n    crossZone: true\n    listeners:")

/// The default topology with a third client and an endpoint subnet in the zone without targets.
public let emptyZoneYAML = Topology.defaultYAML
    .replacingOccurrences(of: "  - {name: consumer-inspection-a,",
                          with: "  - {name: consumer-app-c, vpc: consumer, zone: us-east-1c, cidr: 10.20.3.0/24, ipv6Cidr: \"fd00:20:0:3::/64\", routeTable: consumer-app}\n  - {name: consumer-inspection-a,")
    .replacingOccurrences(of: "  - {name: client-b, subnet: consumer-app-b}\n",
                          with: "  - {name: client-b, subnet: consumer-app-b}\n  - {name: client-c, subnet: consumer-app-c}\n")
    .replacingOccurrences(of: "    subnets: [consumer-app-a, consumer-app-b]\n", with: "    subnets: [consumer-app-a, consumer-app-b, consumer-app-c]\n")

/// The default topology with a second client in zone a, beside client-a: another consumer of
/// the same endpoint ENI and NLB node.
public let secondClientYAML = Topology.defaultYAML.replacingOccurrences(
    of: "  - {name: client-a, subnet: consumer-app-a}\n",
    with: "  - {name: client-a, subnet: consumer-app-a}\n  - {name: client-a2, subnet: consumer-app-a}\n")

/// The default topology with Proxy Protocol v2 on the web service's target group.
public let proxyProtocolYAML = Topology.defaultYAML.replacingOccurrences(
    of: "    targets: [{host: web-a}, {host: web-b}]\n",
    with: "    targets: [{host: web-a}, {host: web-b}]\n    proxyProtocolV2: true\n")

/// An internal NLB reached from its own VPC: `app` and two targets in one VPC, a TCP listener on
/// 80 and a UDP one on 53, cross-zone off; `targets` sets the target type of the TCP group.
public func internalNLBYAML(tcpGroup: String = "") -> String {
    """
    region: us-east-1
    zones:
      - {name: us-east-1a, id: use1-az1}
      - {name: us-east-1b, id: use1-az2}
    vpcs:
      - {name: services, cidr: 10.5.0.0/16}
    subnets:
      - {name: services-a, vpc: services, zone: us-east-1a, cidr: 10.5.1.0/24}
      - {name: services-b, vpc: services, zone: us-east-1b, cidr: 10.5.2.0/24}
    securityGroups:
      - name: open
        vpc: services
        ingress:
          - {protocol: tcp, ports: 80, cidr: 10.5.0.0/16}
          - {protocol: udp, ports: 53, cidr: 10.5.0.0/16}
    hosts:
      - {name: app, subnet: services-a, securityGroups: [open]}
      - {name: web-a, subnet: services-a, securityGroups: [open], server: {protocol: http, port: 80}}
      - {name: web-b, subnet: services-b, securityGroups: [open], server: {protocol: http, port: 80}}
    loadBalancers:
      - name: internal
        type: network
        subnets: [services-a, services-b]
        listeners:
          - {protocol: TCP, port: 80, targetGroup: web}
          - {protocol: UDP, port: 53, targetGroup: dns}
    targetGroups:
      - name: web
        protocol: TCP
        port: 80
        targets: [{host: web-a}, {host: web-b}]\(tcpGroup)
      - name: dns
        protocol: UDP
        port: 53
        targets: [{host: web-a}, {host: web-b}]

    """
}

/// An app VPC whose internet traffic is inspected by three appliances in the GWLB endpoint's
/// zone (and one in the other zone, which cross-zone off leaves out).
public func inspectionYAML(stickiness: String = "5-tuple", failover: String = "no_rebalance", listener: String = "",
                    applianceRule: String = "{protocol: udp, ports: 6081, cidr: 10.100.0.0/16}") -> String {
    """
    region: eu-west-1
    zones:
      - {name: eu-west-1a, id: euw1-az1}
      - {name: eu-west-1b, id: euw1-az2}
    accounts:
      - {name: app, id: "210987654321"}
      - {name: security, id: "109876543210"}
    vpcs:
      - {name: app, account: app, cidr: 10.0.0.0/16, ipv6Cidr: "fd00:1::/56", internetGateway: {edgeRouteTable: edge}}
      - {name: security, account: security, cidr: 10.100.0.0/16}
    subnets:
      - {name: app-a, vpc: app, zone: eu-west-1a, cidr: 10.0.1.0/24, ipv6Cidr: "fd00:1:0:1::/64", routeTable: app}
      - {name: gwlbe-a, vpc: app, zone: eu-west-1a, cidr: 10.0.100.0/28, ipv6Cidr: "fd00:1:0:64::/64", routeTable: gwlbe}
      - {name: appliances-a, vpc: security, zone: euw1-az1, cidr: 10.100.1.0/24}
      - {name: appliances-b, vpc: security, zone: euw1-az2, cidr: 10.100.2.0/24}
    routeTables:
      - name: app
        vpc: app
        routes:
          - {destination: 0.0.0.0/0, target: gwlbe}
          - {destination: "::/0", target: gwlbe}
      - name: gwlbe
        vpc: app
        routes:
          - {destination: 0.0.0.0/0, target: internetGateway}
          - {destination: "::/0", target: internetGateway}
      - name: edge
        vpc: app
        routes:
          - {destination: 10.0.1.0/24, target: gwlbe}
          - {destination: "fd00:1:0:1::/64", target: gwlbe}
    securityGroups:
      - name: app
        vpc: app
        ingress:
          - {protocol: udp, cidr: 0.0.0.0/0}
      - name: appliances
        vpc: security
        ingress:
          - \(applianceRule)
          - {protocol: tcp, ports: 80, cidr: 10.100.0.0/16}
    hosts:
      - {name: app, subnet: app-a, securityGroups: [app]}
      - {name: fw-1, subnet: appliances-a, securityGroups: [appliances], server: {protocol: appliance, port: 80}}
      - {name: fw-2, subnet: appliances-a, securityGroups: [appliances], server: {protocol: appliance, port: 80}}
      - {name: fw-3, subnet: appliances-a, securityGroups: [appliances], server: {protocol: appliance, port: 80}}
      - {name: fw-b, subnet: appliances-b, securityGroups: [appliances], server: {protocol: appliance, port: 80}}
      - {name: website, network: internet, addresses: [203.0.113.80, "2001:db8::80"], server: {protocol: http, port: 80}}
    loadBalancers:
      - name: gwlb
        type: gateway
        subnets: [appliances-a, appliances-b]
        listeners: [{targetGroup: firewalls\(listener)}]
    targetGroups:
      - name: firewalls
        protocol: GENEVE
        targets: [{host: fw-1}, {host: fw-2}, {host: fw-3}, {host: fw-b}]
        stickiness: \(stickiness)
        targetFailover: \(failover)
    endpointServices:
      - name: inspection
        account: security
        loadBalancers: [gwlb]
        allowedPrincipals: [arn:aws:iam::210987654321:root]
    endpoints:
      - name: gwlbe
        type: GatewayLoadBalancer
        vpc: app
        service: inspection
        subnets: [gwlbe-a]
        decision: accepted
    """
}

