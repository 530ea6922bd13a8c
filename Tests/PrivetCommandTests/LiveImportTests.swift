import Foundation
import Testing
import TestSupport

extension LiveCommandTests {
    /// An account's snapshot, imported, runs: the AWS CLI asking the running topology's API gets
    /// back the account's own IDs, and a client reaches the service through the endpoint's
    /// own address in each zone.
    @Test(.enabled(if: awsVenv() != nil, "the AWS CLI is not installed in .build/aws-venv (scripts/test.sh installs it)"))
    func anImportedSnapshotRunsWithTheAccountsIDs() throws {
        let snapshot = #filePath.components(separatedBy: "/Tests/")[0] + "/Tests/TopologyTests/Snapshots/privatelink"
        let imported = try runProgram(privetExecutable()!, ["import", "aws", snapshot])
        try #require(imported.status == 0, "\(imported.error)")
        let run = try LiveRun(name: "live-import", yaml: imported.output, arguments: ["--api", "127.0.0.1:\(Self.apiPort)"])
        defer { _ = run.stop() }

        let endpoints = try awsJSON(["ec2", "describe-vpc-endpoints"])["VpcEndpoints"] as? [[String: Any]] ?? []
        #expect(endpoints.compactMap { $0["VpcEndpointId"] as? String } == ["vpce-0e0e0e0e0e0e0e0e0"], "\(endpoints)")
        #expect(endpoints.first?["VpcId"] as? String == "vpc-0b20b20b20b20b20b")
        #expect(Set(endpoints.first?["SubnetIds"] as? [String] ?? []) == ["subnet-03c03c03c03c03c03", "subnet-04d04d04d04d04d04"])
        let vpcs = try awsJSON(["ec2", "describe-vpcs"])["Vpcs"] as? [[String: Any]] ?? []
        #expect(Set(vpcs.compactMap { $0["VpcId"] as? String }) == ["vpc-0a10a10a10a10a10a", "vpc-0b20b20b20b20b20b"])
        let services = try awsJSON(["ec2", "describe-vpc-endpoint-service-configurations"])["ServiceConfigurations"] as? [[String: Any]] ?? []
        #expect(services.compactMap { $0["ServiceId"] as? String } == ["vpce-svc-0f0f0f0f0f0f0f0f0"])

        // The endpoint's ENIs have the snapshot's addresses; the targets answer through them.
        #expect(try run.get("ClientA", "http://10.20.1.100/")?.hasPrefix("served by Web") == true)
        #expect(try run.get("ClientB", "http://10.20.2.100/")?.hasPrefix("served by Web") == true)
    }
}
