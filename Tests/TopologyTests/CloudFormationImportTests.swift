import Foundation
import Testing
@testable import Topology

/// `privet import cloudformation`: a template written for the test (an interface endpoint to an
/// NLB service across two zones, with parameters, mappings, conditions and the intrinsic
/// functions in both forms) becomes a topology that validates and says what the template
/// meant; broken templates give located messages, never a crash.
@Suite("CloudFormation import")
struct CloudFormationImportTests {
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Templates")

    static func importing(_ name: String, parameters: [String: String] = [:]) throws -> TopologyImport {
        let bytes = try [UInt8](Data(contentsOf: templates.appendingPathComponent(name)))
        var importer = CloudFormationImport()
        importer.parameters = parameters
        return importer.run(template: bytes)
    }

    static func importing(text: String) -> TopologyImport {
        CloudFormationImport().run(template: Array(text.utf8))
    }

    @Test func anInterfaceEndpointToAnNLBServiceImportsAndValidates() throws {
        let result = try Self.importing("privatelink.yaml")
        let spec = try #require(result.spec)
        // The one thing skipped: a queue, located at its logical ID.
        #expect(result.diagnostics.map(\.description) == ["157:3: warning: Queue: AWS::SQS::Queue is not modelled by Privet; skipped"])
        #expect(result.skipped == ["Queue (AWS::SQS::Queue)"])
        let load = Topology.resolve(spec)
        #expect(load.errors.isEmpty, "\(load.errors)")
        // Subnets from Fn::Cidr over Fn::GetAtt, Fn::Select over Fn::GetAZs, Fn::Split, Fn::If.
        #expect(spec.subnets.map { "\($0.name.value) \($0.zone.value) \($0.cidr?.value ?? "")" } == [
            "ProviderA us-east-1a 10.10.1.0/24", "ProviderB us-east-1b 10.10.2.0/24",
            "ConsumerA us-east-1a 10.20.1.0/24", "ConsumerB us-east-1b 10.20.2.0/24",
        ])
        // Names from Name tags; the endpoint found by the service name Fn::Sub built.
        #expect(spec.vpcs.map(\.name.value) == ["provider", "consumer"])
        #expect(spec.endpoints.first?.service?.value == "WebService")
        #expect(spec.endpoints.first?.subnets.map(\.subnet.value) == ["ConsumerA", "ConsumerB"])
        #expect(spec.endpointServices.first?.allowedPrincipals.map(\.value) == ["arn:aws:iam::123456789012:root"])
        #expect(spec.loadBalancers.first?.listeners.first?.targetGroup.value == "WebTargets")
        // A separate ingress resource with a protocol number; the targets' guessed servers.
        #expect(spec.securityGroups.last?.ingress.map { "\($0.protocolName.value) \($0.ports?.value ?? "")" } == ["tcp 80"])
        #expect(spec.hosts.filter { $0.server?.kind.value == "http" }.map(\.name.value) == ["WebA", "WebB"])
        #expect(result.guesses.contains("host WebA runs a built-in http server on port 80, its target group's"))
        // The condition held: the consumer VPC has an IPv6 block, a guess said so.
        #expect(spec.vpcs[1].ipv6Cidr != nil)
        #expect(result.yaml(source: "privatelink.yaml").hasPrefix("# Imported by privet from privatelink.yaml"))
        // The written file reads back to the same topology.
        let reread = Topology.load(yaml: result.yaml(source: "privatelink.yaml"))
        #expect(reread.errors.isEmpty && reread.topology?.endpoints.count == 1)
    }

    /// Parameters change what the conditions, mappings and functions give.
    @Test func parametersOverrideTheDefaults() throws {
        let result = try Self.importing("privatelink.yaml", parameters: ["Environment": "prod", "ConsumerCidr": "10.99.0.0/16"])
        let spec = try #require(result.spec)
        #expect(spec.vpcs[1].cidr.value == "10.99.0.0/16" && spec.vpcs[1].ipv6Cidr == nil)
        // Fn::FindInMap gives 10 host bits in prod: the second /22.
        #expect(spec.subnets[0].cidr?.value == "10.10.4.0/22")
        #expect(spec.subnets[3].cidr?.value == "10.20.3.0/24")
        #expect(result.skipped.contains("ConsumerIpv6 (condition WantsIPv6 is false)"))
    }

    @Test func intrinsicFunctionsResolveAsCloudFormationDoes() {
        let log = DiagnosticLog()
        let evaluator = IntrinsicEvaluator(region: "eu-west-1", accountID: "111122223333", stackName: "s", zones: ["eu-west-1a"],
                                           mappings: nil, conditions: nil, log: log)
        evaluator.parameters = ["Name": .string("web")]
        evaluator.imports = ["shared-vpc": "vpc-0123"]
        func run(_ yaml: String) -> TemplateValue {
            let node = TemplateNode.read(Array(yaml.utf8), log: log)!
            return evaluator.evaluate(node)
        }
        #expect(run(#"!Sub "${Name}.${AWS::Region}.${!Literal}""#) == .string("web.eu-west-1.${Literal}"))
        #expect(run(#"!Sub ["${A}-${Name}", {A: !Ref "AWS::AccountId"}]"#) == .string("111122223333-web"))
        #expect(run(#"{"Fn::Join": ["-", ["a", {"Ref": "Name"}]]}"#) == .string("a-web"))
        #expect(run("!Base64 hi") == .string("aGk="))
        #expect(run("!ImportValue shared-vpc") == .string("vpc-0123"))
        #expect(run(#"!Cidr ["fd00:20::/56", 2, 64]"#) == .list([.string("fd00:20::/64"), .string("fd00:20:0:1::/64")]))
        #expect(run("!Select [1, !Split [',', 'a,b,c']]") == .string("b"))
        #expect(run(#"!GetAZs """#) == .list([.string("eu-west-1a")]))
        #expect(run("[a, !Ref AWS::NoValue, b]") == .list([.string("a"), .string("b")]))
        #expect(log.diagnostics.isEmpty, "\(log.diagnostics)")
        // What cannot be resolved: a warning where it is written, and nothing.
        #expect(run("!ImportValue other-stack") == .none)
        #expect(run("\n\n  !Ref Nmae") == .none)
        #expect(log.diagnostics.map(\.description) == [
            "1:1: warning: Fn::ImportValue other-stack: another stack's export; give it with --import-value other-stack=VALUE",
            "3:3: warning: !Ref Nmae: no parameter or resource of that name (did you mean 'Name'?)",
        ])
    }

    @Test func brokenTemplatesGiveLocatedMessages() {
        // Not YAML.
        let bad = Self.importing(text: "Resources:\n  A: [unclosed\n")
        #expect(bad.spec == nil && bad.diagnostics.first?.severity == .error)
        // No resources.
        #expect(Self.importing(text: "Parameters: {}\n").diagnostics.map(\.description)
                == ["1:1: error: a template needs a 'Resources' section with at least one resource"])
        // A cycle of references: nothing imported, the cycle named.
        let cycle = Self.importing(text: """
            Resources:
              A:
                Type: AWS::EC2::SecurityGroup
                Properties: {VpcId: !Ref B, GroupDescription: !GetAtt B.GroupId}
              B:
                Type: AWS::EC2::SecurityGroup
                Properties: {VpcId: !Sub "${A}"}
            """)
        #expect(cycle.spec == nil)
        #expect(cycle.diagnostics.map(\.description) == ["2:3: error: a cycle of references: A → B → A"])
        // An unknown !Ref and an unknown type: warnings, and the rest imported.
        let partial = Self.importing(text: """
            Resources:
              Vpc:
                Type: AWS::EC2::VPC
                Properties: {CidrBlock: 10.0.0.0/16}
              Subnet:
                Type: AWS::EC2::Subnet
                Properties: {VpcId: !Ref Vcp, CidrBlock: 10.0.1.0/24}
              Thing:
                Type: Custom::Thing
            """)
        #expect(partial.spec?.vpcs.count == 1 && partial.spec?.subnets.isEmpty == true)
        #expect(partial.diagnostics.map(\.description).contains("7:25: warning: !Ref Vcp: no parameter or resource of that name (did you mean 'Vpc'?)"))
        #expect(partial.diagnostics.map(\.description).contains("8:3: warning: Thing: Custom::Thing is not modelled by Privet; skipped"))
        // A parameter with no value, and a resource Privet does not model, are said once, where
        // they are declared, not again at each use; a modelled property that needs the skipped
        // resource says so where it is.
        let quiet = Self.importing(text: """
            Parameters:
              KeyName: {Type: "AWS::EC2::KeyPair::KeyName"}
            Resources:
              Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
              A: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24}}
              Profile: {Type: AWS::IAM::InstanceProfile, Properties: {Roles: [r]}}
              Nat: {Type: AWS::EC2::NatGateway, Properties: {SubnetId: !Ref A}}
              T: {Type: AWS::EC2::RouteTable, Properties: {VpcId: !Ref Vpc}}
              R: {Type: AWS::EC2::Route, Properties: {RouteTableId: !Ref T, DestinationCidrBlock: 0.0.0.0/0, NatGatewayId: !Ref Nat}}
              Web:
                Type: AWS::EC2::Instance
                Properties: {SubnetId: !Ref A, KeyName: !Ref KeyName, IamInstanceProfile: !Ref Profile, UserData: !Base64 {"Fn::Sub": "${Profile.Arn}"}}
            """)
        #expect(quiet.spec?.hosts.count == 1)
        #expect(quiet.diagnostics.map(\.description) == [
            "2:3: warning: parameter KeyName has no default: give it with --parameter KeyName=VALUE",
            "6:3: warning: Profile: AWS::IAM::InstanceProfile is not modelled by Privet; skipped",
            "7:3: warning: Nat: AWS::EC2::NatGateway is not modelled by Privet; skipped",
            "9:42: warning: R: a route to NatGatewayId is not modelled; skipped",
        ])
        // A transform is not run, and says so.
        let transformed = Self.importing(text: "Transform: AWS::Serverless-2016-10-31\nResources:\n  V: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}\n")
        #expect(transformed.diagnostics.map(\.description)
                == ["1:12: warning: Transform: macros (such as AWS::Serverless) are not run; the template is imported as written"])
        // Neither text nor deep nesting crashes it.
        for text in ["", "[", "Resources: 3", "Resources: {A: {Type: [1]}}", String(repeating: "[", count: 500)] {
            _ = Self.importing(text: text)
        }
    }

    /// IP targets named by an instance's address (one Privet designates when the template asks
    /// for it and gives none), a subnet by its zone ID, target group attributes, a service's name
    /// by `GetAtt`; an interface endpoint to an AWS service is skipped, saying so.
    @Test func ipTargetsZoneIDsAttributesAndServicesOutsideTheTemplate() throws {
        let result = Self.importing(text: """
            Resources:
              Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
              A: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24, AvailabilityZoneId: use1-az2}}
              Web: {Type: AWS::EC2::Instance, Properties: {SubnetId: !Ref A}}
              Nlb: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {Type: network, Subnets: [!Ref A]}}
              Tg:
                Type: AWS::ElasticLoadBalancingV2::TargetGroup
                Properties:
                  Protocol: TCP
                  Port: 8080
                  TargetType: ip
                  Targets: [{Id: !GetAtt Web.PrivateIp}]
                  TargetGroupAttributes: [{Key: preserve_client_ip.enabled, Value: "false"}, {Key: deregistration_delay.timeout_seconds, Value: "30"}]
              L: {Type: AWS::ElasticLoadBalancingV2::Listener, Properties: {LoadBalancerArn: !Ref Nlb, Port: 80, DefaultActions: [{Type: forward, TargetGroupArn: !Ref Tg}]}}
              Svc: {Type: AWS::EC2::VPCEndpointService, Properties: {NetworkLoadBalancerArns: [!Ref Nlb]}}
              Own: {Type: AWS::EC2::VPCEndpoint, Properties: {VpcEndpointType: Interface, VpcId: !Ref Vpc, ServiceName: !GetAtt Svc.ServiceName, SubnetIds: [!Ref A]}}
              Ssm: {Type: AWS::EC2::VPCEndpoint, Properties: {VpcEndpointType: Interface, VpcId: !Ref Vpc, ServiceName: !Sub "com.amazonaws.${AWS::Region}.ssm"}}
            """)
        let spec = try #require(result.spec)
        #expect(spec.subnets.first?.zone.value == "us-east-1b")
        #expect(spec.hosts.first?.addresses.map(\.value) == ["10.0.1.10"])
        #expect(spec.hosts.first?.server?.port.value == 8080)
        let group = try #require(spec.targetGroups.first)
        #expect(group.targets.map(\.host.value) == ["Web"])
        #expect(group.preserveClientIp?.value == false && group.deregistrationDelay?.value == 30)
        #expect(spec.endpoints.map { $0.service?.value } == ["Svc"])
        #expect(result.diagnostics.map(\.description)
                == ["17:50: warning: Ssm: the Interface endpoint's service com.amazonaws.us-east-1.ssm is not in this template (an AWS service's, or another stack's); skipped"])
    }
}
