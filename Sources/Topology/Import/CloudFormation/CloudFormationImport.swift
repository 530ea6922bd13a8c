import Foundation

/// `privet import cloudformation`: a template's EC2 and ELBv2 resources as a topology, its
/// parameters, conditions and intrinsic functions evaluated in the topology's region and account.
public struct CloudFormationImport {
    public var region = "us-east-1"
    public var accountID = "123456789012"
    public var stackName = "privet"
    /// `--parameter KEY=VALUE`: over the template's defaults.
    public var parameters: [String: String] = [:]
    /// `--import-value NAME=VALUE`: what `Fn::ImportValue` gives.
    public var importValues: [String: String] = [:]

    public init() {}

    /// The resource types imported (everything else is skipped with a warning).
    static let modelled: Set<String> = [
        "AWS::EC2::VPC", "AWS::EC2::VPCCidrBlock", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::Route",
        "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::GatewayRouteTableAssociation", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress", "AWS::EC2::Instance", "AWS::EC2::NetworkInterface", "AWS::EC2::PrefixList",
        "AWS::EC2::VPCEndpoint", "AWS::EC2::VPCEndpointService", "AWS::EC2::VPCEndpointServicePermissions",
        "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::TargetGroup",
        "AWS::ElasticLoadBalancingV2::Listener", "AWS::AutoScaling::AutoScalingGroup", "AWS::EC2::LaunchTemplate",
    ]

    public func run(template bytes: [UInt8]) -> TopologyImport {
        let log = DiagnosticLog()
        var result = TopologyImport()
        guard let root = TemplateNode.read(bytes, log: log) else {
            result.diagnostics = log.sorted
            return result
        }
        guard let resources = root["Resources"], case .map(let pairs) = resources.value, !pairs.isEmpty else {
            log.error(root.location, "a template needs a 'Resources' section with at least one resource")
            result.diagnostics = log.sorted
            return result
        }
        if let transform = root["Transform"] {
            log.warning(transform.location, "Transform: macros (such as AWS::Serverless) are not run; the template is imported as written")
        }
        let zones = ["a", "b", "c", "d"].map { region + $0 }
        let evaluator = IntrinsicEvaluator(region: region, accountID: accountID, stackName: stackName, zones: zones,
                                           mappings: root["Mappings"], conditions: root["Conditions"], log: log)
        evaluator.imports = importValues
        readParameters(root["Parameters"], into: evaluator, log: log)
        let builder = SpecBuilder(region: region, accountID: accountID, zones: zones, evaluator: evaluator, log: log)
        builder.declare(pairs)
        if builder.hasCycle() {
            result.diagnostics = log.sorted
            return result
        }
        builder.build()
        result.spec = builder.spec
        result.guesses = builder.guesses
        result.imported = builder.imported
        result.skipped = builder.skipped
        result.diagnostics = log.sorted
        return result
    }

    /// Each parameter's value: given, else its default; a list type becomes a list. One with
    /// neither is a warning (its references resolve to nothing).
    private func readParameters(_ section: TemplateNode?, into evaluator: IntrinsicEvaluator, log: DiagnosticLog) {
        let declared = Set(section?.mapPairs.map(\.key.value) ?? [])
        for name in parameters.keys.sorted() where !declared.contains(name) {
            log.warning(section?.location ?? FilePosition(line: 1, column: 1), "--parameter \(name): the template has no such parameter")
        }
        for (key, node) in section?.mapPairs ?? [] {
            let type = node["Type"]?.scalar ?? "String"
            let text: String
            if let given = parameters[key.value] {
                text = given
            } else if let fallback = node["Default"] {
                let value = evaluator.evaluate(fallback)
                text = value.string ?? value.strings.joined(separator: ",")
            } else {
                log.warning(key.location, "parameter \(key.value) has no default: give it with --parameter \(key.value)=VALUE")
                evaluator.unset.insert(key.value)
                continue
            }
            if let allowed = node["AllowedValues"], case .list(let values) = allowed.value,
               !values.compactMap(\.scalar).contains(text) {
                log.warning(key.location, "parameter \(key.value): '\(text)' is not one of its AllowedValues")
            }
            let isList = type == "CommaDelimitedList" || type.hasPrefix("List<")
            evaluator.parameters[key.value] = isList
                ? .list(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
                : .string(text)
        }
    }
}
