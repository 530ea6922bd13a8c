extension Topology {
    /// The topology `privet demo` runs and `privet describe --default` prints: a provider's web
    /// service behind an NLB in three zones with targets in two (so one zone has none, as AWS users
    /// meet it); a dualstack consumer reaching it through an interface endpoint with a private DNS
    /// name; a partner whose endpoint the provider rejected; a Gateway Load Balancer with two
    /// appliances inspecting the consumer's internet traffic; an S3 gateway endpoint.
    public static let defaultYAML = """
        # Privet's default topology (privet describe --default).
        region: us-east-1
        zones:
          - {name: us-east-1a, id: use1-az1}
          - {name: us-east-1b, id: use1-az2}
          - {name: us-east-1c, id: use1-az4}
        accounts:
          - {name: provider, id: "111111111111"}
          - {name: consumer, id: "222222222222"}
          - {name: partner, id: "333333333333"}
          - {name: security, id: "444444444444"}

        vpcs:
          - name: provider
            account: provider
            cidr: 10.10.0.0/16
            ipv6Cidr: fd00:10::/56
          - name: consumer
            account: consumer
            cidr: 10.20.0.0/16
            ipv6Cidr: fd00:20::/56
            internetGateway:
              edgeRouteTable: consumer-edge
          - name: partner
            account: partner
            cidr: 10.30.0.0/16
          - name: inspection
            account: security
            cidr: 10.40.0.0/16

        subnets:
          - {name: provider-a, vpc: provider, zone: us-east-1a, cidr: 10.10.1.0/24, ipv6Cidr: "fd00:10:0:1::/64"}
          - {name: provider-b, vpc: provider, zone: us-east-1b, cidr: 10.10.2.0/24, ipv6Cidr: "fd00:10:0:2::/64"}
          - {name: provider-c, vpc: provider, zone: us-east-1c, cidr: 10.10.3.0/24, ipv6Cidr: "fd00:10:0:3::/64"}
          - {name: consumer-app-a, vpc: consumer, zone: us-east-1a, cidr: 10.20.1.0/24, ipv6Cidr: "fd00:20:0:1::/64", routeTable: consumer-app}
          - {name: consumer-app-b, vpc: consumer, zone: us-east-1b, cidr: 10.20.2.0/24, ipv6Cidr: "fd00:20:0:2::/64", routeTable: consumer-app}
          - {name: consumer-inspection-a, vpc: consumer, zone: us-east-1a, cidr: 10.20.101.0/24, routeTable: consumer-inspection}
          - {name: partner-a, vpc: partner, zone: us-east-1a, cidr: 10.30.1.0/24}
          - {name: inspection-a, vpc: inspection, zone: us-east-1a, cidr: 10.40.1.0/24}
          - {name: inspection-b, vpc: inspection, zone: us-east-1b, cidr: 10.40.2.0/24}

        routeTables:
          # The app subnets send internet traffic through the GWLB endpoint; S3 goes through the
          # gateway endpoint (its prefix list is longer than 0.0.0.0/0).
          - name: consumer-app
            vpc: consumer
            routes:
              - {destination: 0.0.0.0/0, target: inspection-endpoint}
              - {destination: "::/0", target: internetGateway}
          - name: consumer-inspection
            vpc: consumer
            routes:
              - {destination: 0.0.0.0/0, target: internetGateway}
          # Associated with the internet gateway: replies from the internet go back through inspection.
          - name: consumer-edge
            vpc: consumer
            routes:
              - {destination: 10.20.1.0/24, target: inspection-endpoint}
              - {destination: 10.20.2.0/24, target: inspection-endpoint}

        prefixLists:
          - id: pl-63a5400a
            name: com.amazonaws.us-east-1.s3
            cidrs: [52.216.0.0/15, 54.231.0.0/16]

        securityGroups:
          # PrivateLink traffic reaches targets from the NLB's private addresses.
          - name: web
            vpc: provider
            ingress:
              - {protocol: tcp, ports: 80, cidr: 10.10.0.0/16}
              - {protocol: tcp, ports: 80, cidr: "fd00:10::/56"}
          - name: endpoint
            vpc: consumer
            ingress:
              - {protocol: tcp, ports: 80, cidr: 10.20.0.0/16}
              - {protocol: tcp, ports: 80, cidr: "fd00:20::/56"}
          - name: appliance
            vpc: inspection
            ingress:
              - {protocol: udp, ports: 6081, cidr: 10.40.0.0/16}
              - {protocol: tcp, ports: 80, cidr: 10.40.0.0/16}

        hosts:
          - {name: web-a, subnet: provider-a, securityGroups: [web], server: {protocol: http, port: 80}}
          - {name: web-b, subnet: provider-b, securityGroups: [web], server: {protocol: http, port: 80}}
          - {name: client-a, subnet: consumer-app-a}
          - {name: client-b, subnet: consumer-app-b}
          - {name: partner-client, subnet: partner-a}
          - {name: appliance-a, subnet: inspection-a, securityGroups: [appliance], server: {protocol: appliance, port: 80}}
          - {name: appliance-b, subnet: inspection-b, securityGroups: [appliance], server: {protocol: appliance, port: 80}}
          - {name: internet-server, network: internet, addresses: [198.51.100.10, "2001:db8::10"], server: {protocol: http, port: 80}}
          - {name: s3, network: com.amazonaws.us-east-1.s3, addresses: [52.216.10.10], server: {protocol: http, port: 80}}

        loadBalancers:
          - name: web-nlb
            type: network
            subnets: [provider-a, provider-b, provider-c]
            ipAddressType: dualstack
            listeners:
              - {protocol: TCP, port: 80, targetGroup: web-targets}
          - name: inspection-gwlb
            type: gateway
            subnets: [inspection-a, inspection-b]
            listeners:
              - {targetGroup: appliances}

        targetGroups:
          - name: web-targets
            protocol: TCP
            port: 80
            targets: [{host: web-a}, {host: web-b}]
            healthCheck: {protocol: HTTP, path: /}
          - name: appliances
            protocol: GENEVE
            targets: [{host: appliance-a}, {host: appliance-b}]
            healthCheck: {protocol: TCP, port: 80}

        endpointServices:
          - name: web-service
            account: provider
            loadBalancers: [web-nlb]
            acceptanceRequired: true
            allowedPrincipals:
              - arn:aws:iam::222222222222:root
              - arn:aws:iam::333333333333:root
            privateDnsName: api.privet.example
            privateDnsNameVerification: verified
            supportedIpAddressTypes: [ipv4, ipv6]
          - name: inspection-service
            account: security
            loadBalancers: [inspection-gwlb]
            allowedPrincipals: [arn:aws:iam::222222222222:root]

        endpoints:
          - name: web-endpoint
            type: Interface
            vpc: consumer
            service: web-service
            subnets: [consumer-app-a, consumer-app-b]
            securityGroups: [endpoint]
            ipAddressType: dualstack
            decision: accepted
          - name: partner-endpoint
            type: Interface
            vpc: partner
            service: web-service
            subnets: [partner-a]
            decision: rejected
          - name: inspection-endpoint
            type: GatewayLoadBalancer
            vpc: consumer
            service: inspection-service
            subnets: [consumer-inspection-a]
            decision: accepted
          - name: s3-endpoint
            type: Gateway
            vpc: consumer
            serviceName: com.amazonaws.us-east-1.s3
            routeTables: [consumer-app]

        hostedZones:
          # The public answer for the service's name: what the same name gives outside the VPC.
          - name: privet.example
            records:
              - {name: api.privet.example, type: A, values: [203.0.113.10]}
        """
}
