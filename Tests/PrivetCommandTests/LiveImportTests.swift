import Foundation
import Testing
import TestSupport
import Topology

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

    /// The default topology, running, snapshotted with the README's AWS CLI commands against its
    /// API, and imported back: the same topology, `describe` line for line (IDs, addresses,
    /// targets, routes), but for the one thing a snapshot cannot hold, the S3 stand-in's address.
    @Test(.enabled(if: awsVenv() != nil, "the AWS CLI is not installed in .build/aws-venv (scripts/test.sh installs it)"))
    func aSnapshotOfTheRunningDefaultTopologyImportsBackToIt() throws {
        let run = try LiveRun(name: "live-snapshot", yaml: Topology.defaultYAML, arguments: ["--api", "127.0.0.1:\(Self.apiPort)"])
        defer { _ = run.stop() }
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let snapshot = scratch.file("snapshot")
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        // The README's commands, the CLI pointed at the running API.
        let script = """
            set -euo pipefail
            cd '\(snapshot)'
            aws() { '\(awsVenv()!)/aws' --endpoint-url http://127.0.0.1:\(Self.apiPort) "$@"; }
            for c in describe-availability-zones describe-vpcs describe-subnets describe-route-tables \\
                     describe-security-groups describe-network-interfaces describe-instances \\
                     describe-managed-prefix-lists describe-vpc-endpoints \\
                     describe-vpc-endpoint-service-configurations describe-vpc-endpoint-connections; do
              aws ec2 $c --output json > $c.json
            done
            aws elbv2 describe-load-balancers --output json > describe-load-balancers.json
            aws elbv2 describe-target-groups --output json > describe-target-groups.json
            for lb in $(aws elbv2 describe-load-balancers --query 'LoadBalancers[].LoadBalancerArn' --output text); do
              aws elbv2 describe-listeners --load-balancer-arn "$lb" --output json
            done > describe-listeners.json
            for tg in $(aws elbv2 describe-target-groups --query 'TargetGroups[].TargetGroupArn' --output text); do
              aws elbv2 describe-target-health --target-group-arn "$tg" --output json
            done > describe-target-health.json
            """
        let taken = try runProgram("env", ["AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
                                           "AWS_EC2_METADATA_DISABLED=true", "bash", "-c", script])
        try #require(taken.status == 0, "\(taken.error)")
        let imported = try runProgram(privetExecutable()!, ["import", "aws", snapshot, "--output", scratch.file("imported.yaml")])
        try #require(imported.status == 0, "\(imported.error)")
        #expect(imported.error.contains("41 resources imported, 0 skipped"), "\(imported.error)")
        let original = try runProgram(privetExecutable()!, ["describe", "default"]).output
        let again = try runProgram(privetExecutable()!, ["describe", scratch.file("imported.yaml")]).output
        func lines(_ text: String) -> [String] {
            text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("    s3  ") }
        }
        #expect(lines(again) == lines(original))
        #expect(lines(original).count > 100)
    }
}
