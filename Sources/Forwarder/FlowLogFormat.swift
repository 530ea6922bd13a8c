/// A VPC Flow Logs record format (`--flow-log-format`): AWS's fields in its `${field}` syntax,
/// separated by spaces, as `aws ec2 create-flow-logs --log-format` takes them. The default is
/// version 2's fourteen fields; a custom format's `version` is the highest version among its
/// fields, as AWS writes it.
public struct FlowLogFormat: Sendable, Equatable, CustomStringConvertible {
    public enum Field: String, CaseIterable, Sendable {
        // Version 2: the default format.
        case version
        case accountID = "account-id"
        case interfaceID = "interface-id"
        case sourceAddress = "srcaddr"
        case destinationAddress = "dstaddr"
        case sourcePort = "srcport"
        case destinationPort = "dstport"
        case proto = "protocol"
        case packets
        case bytes
        case start
        case end
        case action
        case logStatus = "log-status"
        // Version 3.
        case vpcID = "vpc-id"
        case subnetID = "subnet-id"
        case instanceID = "instance-id"
        case tcpFlags = "tcp-flags"
        case type
        case packetSourceAddress = "pkt-srcaddr"
        case packetDestinationAddress = "pkt-dstaddr"
        // Version 4.
        case region
        case zoneID = "az-id"
        case sublocationType = "sublocation-type"
        case sublocationID = "sublocation-id"
        // Version 5.
        case packetSourceService = "pkt-src-aws-service"
        case packetDestinationService = "pkt-dst-aws-service"
        case flowDirection = "flow-direction"
        case trafficPath = "traffic-path"

        /// The VPC Flow Logs version that brought the field.
        public var version: Int {
            switch self {
            case .version, .accountID, .interfaceID, .sourceAddress, .destinationAddress, .sourcePort, .destinationPort,
                 .proto, .packets, .bytes, .start, .end, .action, .logStatus:
                return 2
            case .vpcID, .subnetID, .instanceID, .tcpFlags, .type, .packetSourceAddress, .packetDestinationAddress: return 3
            case .region, .zoneID, .sublocationType, .sublocationID: return 4
            case .packetSourceService, .packetDestinationService, .flowDirection, .trafficPath: return 5
            }
        }
    }

    /// AWS fields Privet does not write, and why: a format naming one is refused rather than
    /// given a column of made-up values.
    static let unwritten: [String: String] = [
        "ecs-cluster-arn": "there are no ECS tasks", "ecs-cluster-name": "there are no ECS tasks",
        "ecs-container-instance-arn": "there are no ECS tasks", "ecs-container-instance-id": "there are no ECS tasks",
        "ecs-container-id": "there are no ECS tasks", "ecs-second-container-id": "there are no ECS tasks",
        "ecs-service-name": "there are no ECS tasks", "ecs-task-definition-arn": "there are no ECS tasks",
        "ecs-task-arn": "there are no ECS tasks", "ecs-task-id": "there are no ECS tasks",
        "reject-reason": "there is no VPC Block Public Access, the only reason it names",
    ]

    public let fields: [Field]

    public static let `default` = FlowLogFormat(fields: Field.allCases.filter { $0.version == 2 })

    init(fields: [Field]) { self.fields = fields }

    /// Reads a format such as `${version} ${interface-id} ${pkt-srcaddr} ${flow-direction}`.
    public init(_ text: String) throws(ForwarderError) {
        var fields: [Field] = []
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            guard token.hasPrefix("${"), token.hasSuffix("}"), token.count > 3 else {
                throw ForwarderError(description: "flow-log format: '\(token)' is not a field; write each as ${field}, separated by spaces")
            }
            let name = String(token.dropFirst(2).dropLast())
            guard let field = Field(rawValue: name) else {
                if let reason = FlowLogFormat.unwritten[name] {
                    throw ForwarderError(description: "flow-log format: ${\(name)} is not written: \(reason)")
                }
                throw ForwarderError(description: "flow-log format: unknown field ${\(name)}; the fields are "
                    + Field.allCases.map(\.rawValue).joined(separator: " "))
            }
            fields.append(field)
        }
        guard !fields.isEmpty else { throw ForwarderError(description: "flow-log format: no fields") }
        self.fields = fields
    }

    /// The version its records carry: the highest among its fields.
    public var version: Int { fields.map(\.version).max() ?? 2 }

    /// The header line of a flow-log file: the fields' names.
    var header: String { fields.map(\.rawValue).joined(separator: " ") }

    /// As `--flow-log-format` takes it.
    public var description: String { fields.map { "${\($0.rawValue)}" }.joined(separator: " ") }
}
