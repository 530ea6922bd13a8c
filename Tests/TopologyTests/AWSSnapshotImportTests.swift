import Foundation
import Testing
@testable import Topology

/// `privet import aws`: a snapshot made of JSON in the shapes the AWS CLI documents, describing
/// the network of the CloudFormation test template, imports to the same topology as the
/// template, with the account's own IDs and addresses kept.
@Suite("AWS CLI snapshot import")
struct AWSSnapshotImportTests {
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    /// What a topology is, by names: what each resource is made of and what it names, without
    /// the IDs and addresses, which the source may or may not give.
    static func shape(_ spec: TopologySpec) -> [String] {
        func rules(_ rules: [RuleSpec]?) -> String {
            rules.map { $0.map { "\($0.protocolName.value) \($0.ports?.value ?? "*") \($0.cidr?.value ?? $0.securityGroup?.value ?? "")" }
                .joined(separator: ", ") } ?? "default"
        }
        return spec.vpcs.map { "vpc \($0.name.value) \($0.cidr.value) \($0.ipv6Cidr?.value ?? "-") igw \($0.internetGateway != nil)" }
            + spec.subnets.map { "subnet \($0.name.value) \($0.vpc.value) \($0.zone.value) \($0.cidr?.value ?? "-") \($0.routeTable?.value ?? "-")" }
            + spec.securityGroups.map { "group \($0.name.value) \($0.vpc.value) in [\(rules($0.ingress))] out [\(rules($0.egress))]" }
            + spec.hosts.map { "host \($0.name.value) \($0.subnet?.value ?? $0.network?.value ?? "-") \($0.securityGroups.map(\.value)) \($0.server.map { "\($0.kind.value):\($0.port.value)" } ?? "-")" }
            + spec.loadBalancers.map { balancer in
                "balancer \(balancer.name.value) \(balancer.type.value) \(balancer.subnets.map(\.value)) "
                    + balancer.listeners.map { "\($0.protocolName?.value ?? "-"):\($0.port?.value ?? 0)→\($0.targetGroup.value)" }.joined(separator: " ")
            }
            + spec.targetGroups.map { "targets \($0.name.value) \($0.protocolName.value) \($0.port?.value ?? 0) \($0.targets.map(\.host.value))" }
            + spec.endpointServices.map { "service \($0.name.value) \($0.loadBalancers.map(\.value)) \($0.acceptanceRequired) \($0.allowedPrincipals.map(\.value))" }
            + spec.endpoints.map { "endpoint \($0.name.value) \($0.type.value) \($0.vpc.value) \($0.service?.value ?? $0.serviceName?.value ?? "-") \($0.subnets.map(\.subnet.value)) \($0.securityGroups.map(\.value)) \($0.decision?.value ?? "-")" }
    }

    @Test func aSnapshotImportsToTheTopologyOfTheTemplateItDescribes() throws {
        let snapshot = AWSSnapshotImport().run(directory: Self.snapshots.appendingPathComponent("privatelink").path)
        let fromSnapshot = try #require(snapshot.spec)
        #expect(snapshot.notes.isEmpty, "\(snapshot.notes)")
        let template = try CloudFormationImportTests.importing("privatelink.yaml")
        let fromTemplate = try #require(template.spec)
        #expect(Self.shape(fromSnapshot) == Self.shape(fromTemplate))
        // The account's IDs and addresses, kept.
        let load = Topology.resolve(fromSnapshot)
        #expect(load.errors.isEmpty, "\(load.errors)")
        let topology = try #require(load.topology)
        #expect(topology.vpcs.map(\.id) == ["vpc-0a10a10a10a10a10a", "vpc-0b20b20b20b20b20b"])
        #expect(topology.endpoints.map(\.id) == ["vpce-0e0e0e0e0e0e0e0e0"])
        #expect(topology.endpointServices.map(\.id) == ["vpce-svc-0f0f0f0f0f0f0f0f0"])
        #expect(topology.zones.map(\.id) == ["use1-az1", "use1-az2"])
        #expect(topology.hosts.compactMap(\.instanceID) == ["i-0aaa000000000000a", "i-0bbb000000000000b", "i-0ccc000000000000c", "i-0ddd000000000000d"])
        let endpointAddresses = fromSnapshot.endpoints[0].subnets.compactMap(\.ipv4?.value)
        #expect(endpointAddresses == ["10.20.1.100", "10.20.2.100"])
        #expect(fromSnapshot.hosts.first?.addresses.map(\.value) == ["10.10.1.4"])
    }

    /// A file missing or not JSON is a note, and the rest is imported.
    @Test func missingAndBrokenFilesAreNotedAndSkipped() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("privet-snapshot-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = Self.snapshots.appendingPathComponent("privatelink")
        for file in ["describe-vpcs.json", "describe-subnets.json"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        try "{\"SecurityGroups\": [".write(to: folder.appendingPathComponent("describe-security-groups.json"), atomically: true, encoding: .utf8)
        let result = AWSSnapshotImport().run(directory: folder.path)
        let spec = try #require(result.spec)
        #expect(spec.vpcs.count == 2 && spec.subnets.count == 4)
        #expect(result.notes.contains("describe-security-groups.json: not the JSON the AWS CLI prints; skipped"))
        #expect(result.notes.contains("describe-instances.json: not there; skipped"))
        #expect(Topology.resolve(spec).errors.isEmpty)
        // Outputs of a command run once per resource, appended one after another.
        let appended = Data("{\"Listeners\": [{\"Port\": 80}]}\n{\"Listeners\": [{\"Port\": 443}]}\n".utf8)
        #expect(SnapshotFiles.documents(appended)?.count == 2)
        #expect(SnapshotFiles.documents(Data("{\"a\": 1} x".utf8)) == nil)
    }
}
