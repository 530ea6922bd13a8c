import Testing
import Topology

/// A small valid topology that the validation cases change one thing in.
let baseYAML = """
    region: us-east-1
    zones:
      - {name: us-east-1a, id: use1-az1}
      - {name: us-east-1b, id: use1-az2}
    accounts:
      - {name: provider, id: "111111111111"}
      - {name: consumer, id: "222222222222"}
    vpcs:
      - {name: provider, account: provider, cidr: 10.1.0.0/16, ipv6Cidr: "fd00:1::/56"}
      - {name: consumer, account: consumer, cidr: 10.2.0.0/16, ipv6Cidr: "fd00:2::/56"}
    subnets:
      - {name: provider-a, vpc: provider, zone: us-east-1a, cidr: 10.1.1.0/24, ipv6Cidr: "fd00:1:0:1::/64"}
      - {name: consumer-a, vpc: consumer, zone: us-east-1a, cidr: 10.2.1.0/24, ipv6Cidr: "fd00:2:0:1::/64"}
      - {name: consumer-b, vpc: consumer, zone: us-east-1b, cidr: 10.2.2.0/24}
    hosts:
      - {name: server, subnet: provider-a, server: {protocol: http, port: 80}}
      - {name: client, subnet: consumer-a}
    loadBalancers:
      - name: nlb
        type: network
        subnets: [provider-a]
        listeners:
          - {protocol: TCP, port: 80, targetGroup: servers}
    targetGroups:
      - name: servers
        protocol: TCP
        port: 80
        targets: [{host: server}]
    endpointServices:
      - name: service
        loadBalancers: [nlb]
        allowedPrincipals: [arn:aws:iam::222222222222:root]
    endpoints:
      - name: endpoint
        type: Interface
        vpc: consumer
        service: service
        subnets: [consumer-a]
        decision: accepted

    """

/// Marks where a diagnostic is expected in a case's YAML; removed before parsing.
let marker: Character = "⁁"

/// `baseYAML` with `old` (which must occur exactly once) replaced by `new`.
func edited(_ old: String, _ new: String, in yaml: String = baseYAML,
            sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String {
    let parts = yaml.components(separatedBy: old)
    guard parts.count == 2 else {
        Issue.record("«\(old)» occurs \(parts.count - 1) times in the YAML, not once", sourceLocation: sourceLocation)
        return yaml
    }
    return parts.joined(separator: new)
}

/// The YAML without its marker, and the marker's line and column (1-based).
func locateMarker(_ yaml: String) -> (String, FilePosition?) {
    var line = 1, column = 1
    var found: FilePosition?
    var clean = ""
    for character in yaml {
        if character == marker {
            found = FilePosition(line: line, column: column)
            continue
        }
        clean.append(character)
        if character == "\n" { line += 1; column = 1 } else { column += 1 }
    }
    return (clean, found)
}

/// Loads `yaml` and expects a diagnostic of `severity` at the marker whose message contains
/// `message`. Returns the load for further checks.
@discardableResult
func expectDiagnostic(
    _ yaml: String, _ message: String, severity: Diagnostic.Severity = .error,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> TopologyLoad {
    let (clean, location) = locateMarker(yaml)
    let load = Topology.load(yaml: clean)
    let matching = load.diagnostics.filter { $0.severity == severity && $0.message.contains(message) }
    #expect(!matching.isEmpty, "no \(severity) containing «\(message)»; got: \(load.diagnostics.map(\.description))",
            sourceLocation: sourceLocation)
    if let location, let diagnostic = matching.first {
        #expect(diagnostic.location == location, "«\(diagnostic.message)» at \(diagnostic.location), expected \(location)",
                sourceLocation: sourceLocation)
    }
    if severity == .error {
        #expect(load.topology == nil, "a file with errors must not resolve", sourceLocation: sourceLocation)
    }
    return load
}

/// Loads `yaml` and expects no errors.
func expectValid(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Topology? {
    let load = Topology.load(yaml: yaml)
    #expect(load.errors.isEmpty, "\(load.errors.map(\.description))", sourceLocation: sourceLocation)
    return load.topology
}
