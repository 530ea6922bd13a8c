import Foundation
import Testing
import AWSAPI
import PacketWire
import Topology

/// The reads and writes beyond endpoints and targets, over the default topology: each write
/// leaves a topology the file could have said, or AWS's error and nothing changed.
@Suite("AWS API: more reads and writes")
struct AWSQueryAPIWriteTests {
    typealias API = AWSQueryAPITests
    static var topology: Topology { API.topology }

    @Test func routeTablesGroupsInterfacesAndListsAreDescribed() {
        let tables = API.answer("Action=DescribeRouteTables&Filter.1.Name=tag:Name&Filter.1.Value.1=consumer-app")
        let gwlbe = Self.topology.endpoints.first { $0.name == "inspection-endpoint" }!
        #expect(tables.body.contains("<destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><gatewayId>\(gwlbe.id)</gatewayId>"))
        #expect(tables.body.contains("<destinationPrefixListId>pl-63a5400a</destinationPrefixListId>"))
        #expect(tables.body.components(separatedBy: "<routeTableId>").count == 1 + 1 + 2, "the table, then its two associations")

        let web = Self.topology.securityGroups.first { $0.name == "web" }!
        let groups = API.answer("Action=DescribeSecurityGroups&GroupId.1=\(web.id)")
        #expect(groups.body.contains("<ipProtocol>tcp</ipProtocol><fromPort>80</fromPort><toPort>80</toPort><ipRanges><item><cidrIp>10.10.0.0/16</cidrIp>"))
        #expect(groups.body.contains("<ipPermissionsEgress><item><ipProtocol>-1</ipProtocol>"))

        let interfaces = API.answer("Action=DescribeNetworkInterfaces&Filter.1.Name=interface-type&Filter.1.Value.1=vpc_endpoint")
        let endpointENIs = Self.topology.endpoints.filter { $0.kind == .interface }.flatMap(\.interfaces)
        #expect(interfaces.body.components(separatedBy: "<networkInterfaceId>").count == endpointENIs.count + 1)
        let host = API.answer("Action=DescribeNetworkInterfaces&Filter.1.Name=attachment.instance-id&Filter.1.Value.1="
                              + Self.topology.hosts.first { $0.name == "client-a" }!.instanceID!)
        #expect(host.body.contains("<interfaceType>interface</interfaceType>") && host.body.contains("<privateIpAddress>10.20.1.4</privateIpAddress>"))

        // Hosts in VPCs are running instances; the internet's and S3's stand-ins are none.
        let instances = API.answer("Action=DescribeInstances")
        let inVPCs = Self.topology.hosts.compactMap(\.instanceID)
        #expect(instances.body.components(separatedBy: "<instanceId>").count == inVPCs.count + 1)
        let clientA = Self.topology.hosts.first { $0.name == "client-a" }!.instanceID!
        let one = API.answer("Action=DescribeInstances&InstanceId.1=\(clientA)")
        #expect(one.body.contains("<instanceState><code>16</code><name>running</name></instanceState>"))
        #expect(one.body.contains("<privateIpAddress>10.20.1.4</privateIpAddress><ipv6Address>fd00:20:0:1::4</ipv6Address>"))
        #expect(one.body.contains("<key>Name</key><value>client-a</value>"))
        let subnet = API.answer("Action=DescribeInstances&Filter.1.Name=subnet-id&Filter.1.Value.1="
                                + Self.topology.subnets.first { $0.name == "provider-a" }!.id)
        #expect(subnet.body.components(separatedBy: "<instanceId>").count == 2, "web-a alone")
        #expect(API.answer("Action=DescribeInstances&InstanceId.1=i-0000000000000000").body.contains("<Code>InvalidInstanceID.NotFound</Code>"))

        let lists = API.answer("Action=DescribePrefixLists")
        #expect(lists.body.contains("<prefixListName>com.amazonaws.us-east-1.s3</prefixListName><cidrSet><item>52.216.0.0/15</item>"))
        let services = API.answer("Action=DescribeVpcEndpointServices")
        #expect(services.body.contains("<serviceNameSet><item>com.amazonaws.us-east-1.s3</item>"))
        #expect(services.body.contains("<baseEndpointDnsNameSet><item>s3.us-east-1.amazonaws.com</item>"))
        let service = Self.topology.endpointServices[0]
        let configurations = API.answer("Action=DescribeVpcEndpointServiceConfigurations&ServiceId.1=\(service.id)")
        #expect(configurations.body.contains("<serviceState>Available</serviceState>") && configurations.body.contains("<acceptanceRequired>true</acceptanceRequired>"))
        let permissions = API.answer("Action=DescribeVpcEndpointServicePermissions&ServiceId=\(service.id)")
        #expect(permissions.body.contains("<principal>arn:aws:iam::222222222222:root</principal>"))
    }

    @Test func securityGroupRulesComeAndGo() throws {
        let web = Self.topology.securityGroups.first { $0.name == "web" }!
        let revoked = API.answer("Action=RevokeSecurityGroupIngress&GroupId=\(web.id)&IpProtocol=tcp&FromPort=80&ToPort=80&CidrIp=10.10.0.0/16")
        let changed = try #require(revoked.changed, "\(revoked.body)")
        #expect(changed.topology.securityGroups.first { $0.id == web.id }?.ingress.count == 1)
        let again = API.answer("Action=RevokeSecurityGroupIngress&GroupId=\(web.id)&IpProtocol=tcp&FromPort=443&ToPort=443&CidrIp=10.10.0.0/16")
        #expect(again.body.contains("<Code>InvalidPermission.NotFound</Code>") && again.changed == nil)
        let duplicate = API.answer("Action=AuthorizeSecurityGroupIngress&GroupId=\(web.id)&IpPermissions.1.IpProtocol=tcp"
                                   + "&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=10.10.0.0/16")
        #expect(duplicate.body.contains("<Code>InvalidPermission.Duplicate</Code>"))
        // A VPC's default group, which the file does not write, is written out to change it.
        let partnerDefault = Self.topology.securityGroups.first { $0.name == "default" && Self.topology[$0.vpc].name == "partner" }!
        let opened = API.answer("Action=AuthorizeSecurityGroupIngress&GroupId=\(partnerDefault.id)&IpPermissions.1.IpProtocol=-1"
                                + "&IpPermissions.1.Groups.1.GroupId=\(partnerDefault.id)&IpPermissions.1.Ipv6Ranges.1.CidrIpv6=::/0")
        #expect(opened.body.contains("<Code>InvalidPermission.Duplicate</Code>"), "its rule from itself is there already")
        let widened = API.answer("Action=AuthorizeSecurityGroupIngress&GroupId=\(partnerDefault.id)&IpProtocol=udp&FromPort=53&ToPort=53&CidrIp=10.30.0.0/16")
        let group = try #require(widened.changed).topology.securityGroups.first { $0.id == partnerDefault.id }
        #expect(group?.ingress.count == 2 && group?.egress.count == 2, "the default rules, and the new one")
    }

    @Test func routesGoToTheInternetGatewayOrAGWLBEndpoint() throws {
        let table = Self.topology.routeTables.first { $0.name == "consumer-inspection" }!
        let gwlbe = Self.topology.endpoints.first { $0.name == "inspection-endpoint" }!
        let created = API.answer("Action=CreateRoute&RouteTableId=\(table.id)&DestinationCidrBlock=198.51.100.0/24&VpcEndpointId=\(gwlbe.id)")
        let routes = try #require(created.changed, "\(created.body)").topology.routeTables.first { $0.id == table.id }!.routes
        #expect(routes.contains { $0.destination == .ipv4(IPv4Prefix("198.51.100.0/24")!) && $0.target == .gatewayLoadBalancerEndpoint(Ref(Self.topology.endpoints.firstIndex { $0.id == gwlbe.id }!)) })
        let gateway = Self.topology[table.vpc].internetGateway!.id
        let existing = API.answer("Action=CreateRoute&RouteTableId=\(table.id)&DestinationCidrBlock=0.0.0.0/0&GatewayId=\(gateway)")
        #expect(existing.body.contains("<Code>RouteAlreadyExists</Code>"))
        #expect(API.answer("Action=DeleteRoute&RouteTableId=\(table.id)&DestinationCidrBlock=192.0.2.0/24").body.contains("<Code>InvalidRoute.NotFound</Code>"))
        let main = Self.topology.routeTables.first { $0.isMain }!
        #expect(API.answer("Action=DeleteRoute&RouteTableId=\(main.id)&DestinationCidrBlock=10.10.0.0/16").status == 400)
    }

    @Test func endpointsAreCreatedModifiedAndDeletedKeepingOthersAddresses() throws {
        let partner = Self.topology.vpcs.first { $0.name == "partner" }!
        let subnet = Self.topology.subnets.first { $0.name == "partner-a" }!
        let service = Self.topology.endpointServices[0]
        let created = API.answer("Action=CreateVpcEndpoint&VpcEndpointType=Interface&VpcId=\(partner.id)&ServiceName=\(service.serviceName)"
                                 + "&SubnetId.1=\(subnet.id)&TagSpecification.1.ResourceType=vpc-endpoint&TagSpecification.1.Tag.1.Key=Name"
                                 + "&TagSpecification.1.Tag.1.Value=second")
        let after = try #require(created.changed, "\(created.body)")
        let made = try #require(after.topology.endpoints.first { $0.name == "second" })
        #expect(made.state == .pendingAcceptance, "the service wants acceptance")
        #expect(created.body.contains("<vpcEndpoint><vpcEndpointId>\(made.id)</vpcEndpointId>"))
        for old in Self.topology.endpoints {
            let kept = after.topology.endpoints.first { $0.id == old.id }!
            #expect(kept.interfaces.map { after.topology[$0].ipv4 } == old.interfaces.map { Self.topology[$0].ipv4 }, "\(old.name) kept its addresses")
        }
        #expect(after.topology[made.interfaces[0]].ipv4 != nil)

        let designated = API.answer("Action=CreateVpcEndpoint&VpcEndpointType=Interface&VpcId=\(partner.id)&ServiceName=\(service.serviceName)"
                                    + "&SubnetConfiguration.1.SubnetId=\(subnet.id)&SubnetConfiguration.1.Ipv4=10.30.1.200")
        let third = try #require(designated.changed, "\(designated.body)").topology.endpoints.last!
        #expect(designated.changed?.topology[third.interfaces[0]].ipv4 == IPv4Address(10, 30, 1, 200), "the address the consumer designated")
        #expect(API.answer("Action=CreateVpcEndpoint&VpcEndpointType=Interface&VpcId=\(partner.id)&ServiceName=\(service.serviceName)"
                           + "&SubnetId.1=\(subnet.id)&PolicyDocument=%7B%7D").body.contains("endpoint policies"))
        let unknown = API.answer("Action=CreateVpcEndpoint&VpcEndpointType=Interface&VpcId=\(partner.id)&ServiceName=com.amazonaws.vpce.us-east-1.vpce-svc-0nothing")
        #expect(unknown.body.contains("<Code>InvalidServiceName</Code>"))
        let web = Self.topology.endpoints[0]
        let second = Self.topology.subnets.first { $0.name == "consumer-app-b" }!
        let narrowed = API.answer("Action=ModifyVpcEndpoint&VpcEndpointId=\(web.id)&RemoveSubnetId.1=\(second.id)")
        #expect(try #require(narrowed.changed).topology.endpoints[0].interfaces.count == 1)
        let deleted = API.answer("Action=DeleteVpcEndpoints&VpcEndpointId.1=\(web.id)&VpcEndpointId.2=vpce-0nothing")
        let remaining = try #require(deleted.changed).topology
        #expect(!remaining.endpoints.contains { $0.id == web.id })
        #expect(deleted.body.contains("<resourceId>vpce-0nothing</resourceId>"))
        for old in Self.topology.endpoints.dropFirst() {
            let kept = remaining.endpoints.first { $0.id == old.id }!
            #expect(kept.interfaces.map { remaining[$0].ipv4 } == old.interfaces.map { Self.topology[$0].ipv4 }, "\(old.name) kept its addresses")
        }
        let gwlbe = Self.topology.endpoints.first { $0.name == "inspection-endpoint" }!
        #expect(API.answer("Action=DeleteVpcEndpoints&VpcEndpointId.1=\(gwlbe.id)").body.contains("DependencyViolation"), "routes go to it")
    }

    @Test func endpointServicesAreConfigured() throws {
        let nlb = Self.topology.arn(of: Ref<LoadBalancer>(0))
        let taken = API.answer("Action=CreateVpcEndpointServiceConfiguration&NetworkLoadBalancerArn.1=\(nlb)")
        #expect(taken.body.contains("a load balancer serves one endpoint service") && taken.changed == nil, "as the file would be refused")
        // An NLB of its own, behind no service yet.
        let spare = Topology.defaultYAML.replacingOccurrences(of: "  - name: inspection-gwlb\n", with: """
              - name: spare-nlb
                type: network
                subnets: [provider-a]
                listeners:
                  - {protocol: TCP, port: 8080, targetGroup: spare}
              - name: inspection-gwlb

            """).replacingOccurrences(of: "targetGroups:\n", with: "targetGroups:\n  - {name: spare, protocol: TCP, port: 80, targets: [{host: web-a}]}\n")
        let load = Topology.load(yaml: spare)
        #expect(load.errors.isEmpty, "\(load.errors.map(\.description))")
        let model = try #require(load.topology)
        let spareARN = model.arn(of: Ref<LoadBalancer>(model.loadBalancers.firstIndex { $0.name == "spare-nlb" }!))
        let created = AWSQueryAPI.answer(API.request("Action=CreateVpcEndpointServiceConfiguration&NetworkLoadBalancerArn.1=\(spareARN)"
                                                     + "&AcceptanceRequired=false"),
                                         snapshot: APISnapshot(topology: model, spec: load.spec, targetHealth: [:], started: 0), requestID: "r")
        let made = try #require(created.changed, "\(created.body)").topology.endpointServices.last!
        #expect(made.name == "service-1" && !made.acceptanceRequired && made.accountID == "111111111111")
        #expect(created.body.contains("<serviceConfiguration>") && created.body.contains("<serviceId>\(made.id)</serviceId>"))
        let service = Self.topology.endpointServices[0]
        let permitted = API.answer("Action=ModifyVpcEndpointServicePermissions&ServiceId=\(service.id)&AddAllowedPrincipals.1=*"
                                   + "&RemoveAllowedPrincipals.1=arn:aws:iam::333333333333:root")
        #expect(try #require(permitted.changed).topology.endpointServices[0].allowedPrincipals == ["arn:aws:iam::222222222222:root", "*"])
        let modified = API.answer("Action=ModifyVpcEndpointServiceConfiguration&ServiceId=\(service.id)&AcceptanceRequired=false")
        #expect(try #require(modified.changed).topology.endpointServices[0].acceptanceRequired == false)
        let refused = API.answer("Action=DeleteVpcEndpointServiceConfigurations&ServiceId.1=\(service.id)")
        #expect(refused.body.contains("<code>ExistingVpcEndpointConnections</code>") && refused.changed == nil)
    }

    @Test func attributesAreReadAndWritten() throws {
        let group = Self.topology.targetGroups.firstIndex { $0.name == "web-targets" }!
        let arn = Self.topology.arn(of: Ref<TargetGroup>(group))
        let read = API.answer("Action=DescribeTargetGroupAttributes&TargetGroupArn=\(arn)", service: "elasticloadbalancing")
        #expect(read.body.contains("<Key>proxy_protocol_v2.enabled</Key><Value>false</Value>"))
        let written = API.answer("Action=ModifyTargetGroupAttributes&TargetGroupArn=\(arn)&Attributes.member.1.Key=proxy_protocol_v2.enabled"
                                 + "&Attributes.member.1.Value=true", service: "elasticloadbalancing")
        #expect(try #require(written.changed).topology.targetGroups[group].proxyProtocolV2)
        #expect(written.body.contains("<Key>proxy_protocol_v2.enabled</Key><Value>true</Value>"))
        let unknown = API.answer("Action=ModifyTargetGroupAttributes&TargetGroupArn=\(arn)&Attributes.member.1.Key=slow_start.duration_seconds"
                                 + "&Attributes.member.1.Value=30", service: "elasticloadbalancing")
        #expect(unknown.body.contains("<Code>ValidationError</Code>") && unknown.changed == nil)
        let appliances = Self.topology.targetGroups.firstIndex { $0.name == "appliances" }!
        let sticky = API.answer("Action=ModifyTargetGroupAttributes&TargetGroupArn=\(Self.topology.arn(of: Ref<TargetGroup>(appliances)))"
                                + "&Attributes.member.1.Key=stickiness.enabled&Attributes.member.1.Value=true"
                                + "&Attributes.member.2.Key=stickiness.type&Attributes.member.2.Value=source_ip_dest_ip", service: "elasticloadbalancing")
        #expect(try #require(sticky.changed, "\(sticky.body)").topology.targetGroups[appliances].stickiness == .twoTuple)
        let balancer = Self.topology.arn(of: Ref<LoadBalancer>(0))
        let crossZone = API.answer("Action=ModifyLoadBalancerAttributes&LoadBalancerArn=\(balancer)"
                                   + "&Attributes.member.1.Key=load_balancing.cross_zone.enabled&Attributes.member.1.Value=true",
                                   service: "elasticloadbalancing")
        #expect(try #require(crossZone.changed).topology.loadBalancers[0].crossZone)
        #expect(crossZone.body.contains("<Key>load_balancing.cross_zone.enabled</Key><Value>true</Value>"))
    }

    @Test func tagsAreKeptShownAndFiltered() throws {
        let consumer = Self.topology.vpcs.first { $0.name == "consumer" }!
        let web = Self.topology.endpoints[0]
        let tagged = API.answer("Action=CreateTags&ResourceId.1=\(consumer.id)&ResourceId.2=\(web.id)&Tag.1.Key=team&Tag.1.Value=web")
        let after = try #require(tagged.changed, "\(tagged.body)")
        #expect(after.topology.vpcs.first { $0.id == consumer.id }?.tags == [Tag(key: "team", value: "web")])
        #expect(after.spec.endpoints[0].tags.map(\.key.value) == ["team"], "kept as the file would keep it")
        let snapshot = APISnapshot(topology: after.topology, spec: after.spec, targetHealth: [:], started: 0)
        func answer(_ form: String) -> APIAnswer { AWSQueryAPI.answer(API.request(form), snapshot: snapshot, requestID: "r") }
        let vpcs = answer("Action=DescribeVpcs&Filter.1.Name=tag:team&Filter.1.Value.1=web")
        #expect(vpcs.body.components(separatedBy: "<vpcId>").count == 2)
        #expect(vpcs.body.contains("<tagSet><item><key>Name</key><value>consumer</value></item><item><key>team</key><value>web</value></item></tagSet>"))
        let described = answer("Action=DescribeTags&Filter.1.Name=key&Filter.1.Value.1=team")
        #expect(described.body.contains("<resourceId>\(web.id)</resourceId><resourceType>vpc-endpoint</resourceType><key>team</key>"))
        let deleted = AWSQueryAPI.answer(API.request("Action=DeleteTags&ResourceId.1=\(consumer.id)&Tag.1.Key=team"), snapshot: snapshot,
                                         requestID: "r")
        #expect(try #require(deleted.changed).topology.vpcs.first { $0.id == consumer.id }?.tags.isEmpty == true)

        #expect(API.answer("Action=CreateTags&ResourceId.1=\(consumer.id)&Tag.1.Key=Name&Tag.1.Value=renamed").body.contains("not changed"))
        #expect(API.answer("Action=CreateTags&ResourceId.1=\(consumer.id)&Tag.1.Key=Name&Tag.1.Value=consumer").status == 200, "its own name")
        #expect(API.answer("Action=CreateTags&ResourceId.1=i-0123&Tag.1.Key=a&Tag.1.Value=b").body.contains("<Code>InvalidID</Code>"))
        #expect(API.answer("Action=CreateTags&ResourceId.1=\(consumer.id)&Tag.1.Key=aws:x&Tag.1.Value=b").body.contains("aws:"),
                "checked as the file's tags are")
    }
}
