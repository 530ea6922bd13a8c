import Foundation
import Testing
import AWSAPI
import Topology

/// The Query protocol and the actions over the default topology, without a running network:
/// what a request reads as, what the answer says, and the errors AWS would give.
@Suite("AWS API")
struct AWSQueryAPITests {
    static let load = Topology.load(yaml: Topology.defaultYAML)
    static let topology = load.topology!

    static func request(_ form: String, service: String? = "ec2", region: String = "us-east-1") -> QueryRequest {
        var head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        if let service {
            head += "Authorization: AWS4-HMAC-SHA256 Credential=test/20261202/\(region)/\(service)/aws4_request, "
                + "SignedHeaders=host, Signature=00\r\n"
        }
        head += "Content-Length: \(form.utf8.count)\r\n\r\n"
        let bytes = Array((head + form).utf8)
        #expect(QueryRequest.expectedLength(bytes) == bytes.count)
        return try! QueryRequest.parse(bytes).get()
    }

    static func answer(_ form: String, service: String? = "ec2", region: String = "us-east-1",
                       health: [APISnapshot.TargetKey: APISnapshot.TargetHealth] = [:]) -> APIAnswer {
        AWSQueryAPI.answer(request(form, service: service, region: region),
                           snapshot: APISnapshot(topology: topology, spec: load.spec, targetHealth: health, started: 1_764_662_400),
                           requestID: "req-1")
    }

    @Test func aRequestReadsAsTheSDKsWriteIt() {
        let request = Self.request("Action=DescribeVpcEndpoints&Version=2016-11-15&Filter.1.Name=vpc-endpoint-state"
                                   + "&Filter.1.Value.1=available&Filter.1.Value.2=pending%41cceptance&VpcEndpointId.2=b&VpcEndpointId.1=a+b")
        #expect(request.service == .ec2 && request.region == "us-east-1" && request.action == "DescribeVpcEndpoints")
        #expect(request.parameters["VpcEndpointId.1"] == "a b", "+ is a space")
        #expect(request.parameters["Filter.1.Value.2"] == "pendingAcceptance", "%41 is A")
        #expect(QueryRequest.parse(Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8)).isFailure, "a head that does not end")
        #expect(QueryRequest.parse(Array("NONSENSE\r\n\r\n".utf8)).isFailure)
        #expect(QueryRequest.parse(Array("POST / HTTP/1.1\r\n\r\nAction=%ZZ".utf8)).isFailure, "bad percent-encoding")
    }

    @Test func endpointsAreDescribedWithTheirIDsStatesAndNames() {
        let answer = Self.answer("Action=DescribeVpcEndpoints&Version=2016-11-15")
        #expect(answer.status == 200 && answer.changed == nil)
        #expect(answer.body.contains("<DescribeVpcEndpointsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>req-1</requestId>"))
        for endpoint in Self.topology.endpoints {
            #expect(answer.body.contains("<vpcEndpointId>\(endpoint.id)</vpcEndpointId>"))
            #expect(answer.body.contains("<key>Name</key><value>\(endpoint.name)</value>"))
        }
        #expect(answer.body.contains("<state>rejected</state>"), "the partner's endpoint")
        let web = Self.topology.endpoints[0]
        #expect(answer.body.contains("<dnsName>\(web.dnsNames[0].name)</dnsName>"))
        #expect(answer.body.contains("<item>\(Self.topology[web.interfaces[0]].id)</item>"))

        let filtered = Self.answer("Action=DescribeVpcEndpoints&Filter.1.Name=vpc-endpoint-state&Filter.1.Value.1=rej*"
                                   + "&Filter.2.Name=tag:Name&Filter.2.Value.1=partner-endpoint")
        #expect(filtered.body.components(separatedBy: "<vpcEndpointId>").count == 2, "one endpoint: \(filtered.body)")
        let bad = Self.answer("Action=DescribeVpcEndpoints&Filter.1.Name=colour&Filter.1.Value.1=red")
        #expect(bad.status == 400 && bad.body.contains("<Code>InvalidParameterValue</Code>"))
        let missing = Self.answer("Action=DescribeVpcEndpoints&VpcEndpointId.1=vpce-0nothing")
        #expect(missing.status == 400 && missing.body.contains("<Code>InvalidVpcEndpointId.NotFound</Code>"))
        #expect(missing.body.contains("<RequestID>req-1</RequestID>"), "EC2's error document")
    }

    @Test func pagesFollowTheirTokens() {
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let answer = Self.answer("Action=DescribeSubnets&MaxResults=5" + (token.map { "&NextToken=\($0)" } ?? ""))
            pages += 1
            seen += answer.body.components(separatedBy: "<subnetId>").dropFirst().map { String($0.prefix { $0 != "<" }) }
            token = answer.body.range(of: "<nextToken>").map { String(answer.body[$0.upperBound...].prefix { $0 != "<" }) }
        } while token != nil && pages < 20
        #expect(seen == Self.topology.subnets.map(\.id), "every subnet once, in order")
        #expect(pages == (Self.topology.subnets.count + 4) / 5 && pages > 1)
        #expect(Self.answer("Action=DescribeSubnets&MaxResults=4").body.contains("must be from 5 to 1000"), "EC2's smallest page")
        #expect(Self.answer("Action=DescribeSubnets&NextToken=zz").status == 400)
    }

    @Test func targetHealthNamesInstancesByTheirIDs() {
        let group = Self.topology.targetGroups.firstIndex { $0.name == "web-targets" }!
        let arn = Self.topology.arn(of: Ref<TargetGroup>(group))
        let health: [APISnapshot.TargetKey: APISnapshot.TargetHealth] = [
            .init(group: group, host: "web-a", port: 80): .init(state: "healthy", reason: nil, description: nil),
            .init(group: group, host: "web-b", port: 80): .init(state: "unhealthy", reason: "Target.Timeout", description: "no answer"),
        ]
        let answer = Self.answer("Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=" + arn, service: "elasticloadbalancing",
                                 health: health)
        #expect(answer.status == 200)
        #expect(answer.body.hasPrefix("<?xml") && answer.body.contains("<DescribeTargetHealthResult><TargetHealthDescriptions><member>"))
        let webA = Self.topology.hosts.first { $0.name == "web-a" }!.instanceID!
        #expect(answer.body.contains("<Id>\(webA)</Id><Port>80</Port>"))
        #expect(answer.body.contains("<State>unhealthy</State><Reason>Target.Timeout</Reason>"))
        #expect(answer.body.contains("<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"))
        let unknown = Self.answer("Action=DescribeTargetHealth&TargetGroupArn=arn:nothing", service: "elasticloadbalancing")
        #expect(unknown.status == 400 && unknown.body.contains("<ErrorResponse") && unknown.body.contains("<Code>TargetGroupNotFound</Code>"))
    }

    @Test func writesLeaveANewTopologyAndErrorsLeaveNone() throws {
        let service = Self.topology.endpointServices[0]
        let partner = Self.topology.endpoints.first { $0.name == "partner-endpoint" }!
        let web = Self.topology.endpoints.first { $0.name == "web-endpoint" }!
        let rejected = Self.answer("Action=RejectVpcEndpointConnections&ServiceId=\(service.id)&VpcEndpointId.1=\(web.id)"
                                   + "&VpcEndpointId.2=\(partner.id)")
        #expect(rejected.status == 200)
        #expect(rejected.body.contains("<resourceId>\(partner.id)</resourceId>"), "already rejected: unsuccessful")
        let changed = try #require(rejected.changed)
        #expect(changed.topology.endpoints.first { $0.id == web.id }?.state == .rejected)
        #expect(changed.spec.endpoints.first { $0.name.value == web.name }?.decision?.value == "rejected", "as the file would say it")

        let group = Self.topology.targetGroups.firstIndex { $0.name == "web-targets" }!
        let arn = Self.topology.arn(of: Ref<TargetGroup>(group))
        let client = Self.topology.hosts.first { $0.name == "client-a" }!.instanceID!
        let outside = Self.answer("Action=RegisterTargets&TargetGroupArn=\(arn)&Targets.member.1.Id=\(client)",
                                  service: "elasticloadbalancing")
        #expect(outside.status == 400 && outside.body.contains("<Code>InvalidTarget</Code>") && outside.changed == nil,
                "a host of another VPC")
        let webB = Self.topology.hosts.first { $0.name == "web-b" }!.instanceID!
        let moved = Self.answer("Action=RegisterTargets&TargetGroupArn=\(arn)&Targets.member.1.Id=\(webB)&Targets.member.1.Port=8080",
                                service: "elasticloadbalancing")
        #expect(moved.changed?.topology.targetGroups[group].targets.map(\.port) == [80, 80, 8080])
    }

    /// EC2's `DryRun`: the call is checked and nothing is done.
    @Test func aDryRunChangesNothing() {
        let service = Self.topology.endpointServices[0], web = Self.topology.endpoints[0]
        let dry = Self.answer("Action=RejectVpcEndpointConnections&ServiceId=\(service.id)&VpcEndpointId.1=\(web.id)&DryRun=true")
        #expect(dry.status == 412 && dry.body.contains("<Code>DryRunOperation</Code>") && dry.changed == nil)
        let wrong = Self.answer("Action=RejectVpcEndpointConnections&ServiceId=vpce-svc-0nothing&VpcEndpointId.1=\(web.id)&DryRun=true")
        #expect(wrong.body.contains("<Code>InvalidVpcEndpointServiceId.NotFound</Code>"), "a call that would fail says why")
    }

    @Test func whatIsNotServedSaysSo() {
        #expect(Self.answer("Action=CreateVpc&CidrBlock=10.0.0.0/16").body.contains("<Code>UnsupportedOperation</Code>"))
        #expect(Self.answer("Version=2016-11-15").body.contains("<Code>MissingAction</Code>"))
        #expect(Self.answer("Action=DescribeVpcs&Version=2012-01-01").body.contains("<Code>NoSuchVersion</Code>"))
        let elsewhere = Self.answer("Action=DescribeVpcs", region: "eu-west-1")
        #expect(elsewhere.status == 400 && elsewhere.body.contains("eu-west-1"))
        // Unsigned: the action says which service.
        #expect(Self.answer("Action=DescribeLoadBalancers", service: nil).body.contains("<DescribeLoadBalancersResult>"))
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
