import Foundation
import Testing
import TestSupport

/// `privet import cloudformation` end to end: the test templates become topologies that
/// validate with nothing to warn of, and the traffic `gen` makes for them crosses as the
/// templates meant: through the interface endpoint to both zones' targets; through the GWLB's
/// appliance to the internet, and to S3 through the gateway endpoint.
@Suite("privet import", .enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
struct ImportCommandTests {
    static let templates = #filePath.components(separatedBy: "/Tests/")[0] + "/Tests/TopologyTests/Templates/"

    /// The template imported, its traffic generated and replayed: the replay's report.
    static func importAndReplay(_ template: String, in scratch: ScratchFolder) throws -> [String: Any] {
        let privet = privetExecutable()!
        let topology = scratch.file("imported.yaml")
        let imported = try runProgram(privet, ["import", "cloudformation", templates + template, "--output", topology])
        try #require(imported.status == 0, "\(imported.error)")
        #expect(imported.error.contains("resources imported"), "\(imported.error)")
        let validation = try runProgram(privet, ["validate", topology])
        #expect(validation.output.contains("valid (0 warnings)"), "\(validation.output)\(validation.error)")
        let capture = scratch.file("traffic.pcap")
        let generated = try runProgram(privet, ["gen", topology, "--output", capture, "--connections", "200"])
        try #require(generated.status == 0, "\(generated.error)")
        #expect(generated.output.contains("200 connections (200 completed, 0 refused"), "\(generated.output)")
        let replayed = try runProgram(privet, ["replay", topology, "--input", capture, "--output", scratch.file("out"), "--json"])
        try #require(replayed.status == 0, "\(replayed.error)")
        let document = try JSONSerialization.jsonObject(with: Data(replayed.output.utf8)) as? [String: Any]
        let report = try #require(document?["report"] as? [String: Any])
        #expect((report["dropped"] as? [String: Any])?["packets"] as? Int == 0, "drops: \(report["drops"] ?? "none")")
        return report
    }

    static func sentPackets(_ report: [String: Any], port: String) -> Int {
        let ports = report["ports"] as? [[String: Any]] ?? []
        let entry = ports.first { $0["port"] as? String == port }
        return ((entry?["sent"] as? [String: Any])?["packets"] as? Int) ?? 0
    }

    @Test func anEndpointToAnNLBServiceCarriesTrafficToBothZones() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let report = try Self.importAndReplay("privatelink.yaml", in: scratch)
        let targets = report["targets"] as? [[String: Any]] ?? []
        #expect(Set(targets.compactMap { $0["zone"] as? String }) == ["us-east-1a", "us-east-1b"], "\(targets)")
        #expect(targets.allSatisfy { ($0["flows"] as? Int ?? 0) > 0 })
        let endpoints = report["endpoints"] as? [[String: Any]] ?? []
        #expect(endpoints.first?["endpoint"] as? String == "WebEndpoint" && (endpoints.first?["flows"] as? Int ?? 0) > 0, "\(endpoints)")
    }

    @Test func inspectionAndAGatewayEndpointCarryTraffic() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let report = try Self.importAndReplay("inspection.json", in: scratch)
        let targets = report["targets"] as? [[String: Any]] ?? []
        // The instance and the two of the Auto Scaling group, each inspecting flows.
        #expect(Set(targets.compactMap { $0["target"] as? String }) == ["Appliance:6081", "ApplianceFleet-1:6081", "ApplianceFleet-2:6081"],
                "\(targets)")
        #expect(targets.allSatisfy { ($0["flows"] as? Int ?? 0) > 0 }, "\(targets)")
        // To the internet (through the appliance) and to S3 (the gateway endpoint's network).
        #expect(Self.sentPackets(report, port: "igw-consumer") > 0)
        #expect(Self.sentPackets(report, port: "com.amazonaws.us-east-1.s3") > 0)
    }

    @Test func whatCannotBeImportedIsSaidWithItsPlace() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let broken = scratch.file("broken.yaml")
        try "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: !Ref Missing}\n"
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let result = try runProgram(privetExecutable()!, ["import", "cloudformation", broken])
        #expect(result.error.contains("broken.yaml:4:29: warning: !Ref Missing: no parameter or resource of that name"), "\(result.error)")
        #expect(result.error.contains("Vpc: a VPC needs CidrBlock"), "\(result.error)")
        let missing = try runProgram(privetExecutable()!, ["import", "cloudformation", scratch.file("none.yaml")])
        #expect(missing.status == 1 && missing.error.contains("no such file"), "\(missing.error)")
        let badParameter = try runProgram(privetExecutable()!, ["import", "cloudformation", broken, "--parameter", "novalue"])
        #expect(badParameter.status == 2 && badParameter.error.contains("expected NAME=VALUE"), "\(badParameter.error)")
    }
}
