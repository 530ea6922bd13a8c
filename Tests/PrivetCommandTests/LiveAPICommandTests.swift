import Foundation
import Testing
import TestSupport
import Topology

/// The AWS CLI and boto3 as scripts/test.sh installs them (a virtual environment from PyPI in
/// .build/aws-venv); nil where they are not.
func awsVenv() -> String? {
    let root = #filePath.components(separatedBy: "/Tests/PrivetCommandTests/")[0]
    let venv = root + "/.build/aws-venv/bin"
    return FileManager.default.isExecutableFile(atPath: venv + "/aws") ? venv : nil
}

extension LiveCommandTests {
    static let apiPort = 24566

    /// Runs the AWS CLI against the running `up --api` with any credentials, as local emulators take.
    func aws(_ arguments: [String]) throws -> ProgramResult {
        try runProgram("env", ["AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
                               "AWS_EC2_METADATA_DISABLED=true", awsVenv()! + "/aws",
                               "--endpoint-url", "http://127.0.0.1:\(Self.apiPort)", "--output", "json"] + arguments)
    }

    func awsJSON(_ arguments: [String]) throws -> [String: Any] {
        let result = try aws(arguments)
        #expect(result.status == 0, "aws \(arguments.joined(separator: " ")): \(result.error)")
        return (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]) ?? [:]
    }

    /// The AWS CLI drives the running topology: an endpoint waiting for acceptance carries
    /// nothing until the provider accepts it with `accept-vpc-endpoint-connections`, then curl
    /// reaches the service by its private DNS name; an endpoint created with
    /// `create-vpc-endpoint` in another VPC waits too, then answers by its own DNS name; a target
    /// registered with `register-targets` takes new connections while an iperf3 stream runs on
    /// uninterrupted; a rejection stops new flows; errors are AWS's; what changed is saved.
    @Test(.enabled(if: awsVenv() != nil, "the AWS CLI is not installed in .build/aws-venv (scripts/test.sh installs it)"))
    func theAWSCLIDrivesTheRunningTopology() throws {
        let yaml = liveTopologyYAML().replacingOccurrences(of: "acceptanceRequired: false", with: "acceptanceRequired: true")
        let model = try #require(Topology.load(yaml: yaml).topology)
        let run = try LiveRun(name: "live-api", yaml: yaml, arguments: ["--api", "127.0.0.1:\(Self.apiPort)"])
        #expect(run.log.contains("AWS API: aws --endpoint-url http://127.0.0.1:\(Self.apiPort)"))

        let endpoints = try awsJSON(["ec2", "describe-vpc-endpoints"])["VpcEndpoints"] as? [[String: Any]] ?? []
        let endpoint = try #require(endpoints.first, "\(endpoints)")
        #expect(endpoints.count == 1)
        #expect(endpoint["VpcEndpointId"] as? String == model.endpoints[0].id)
        #expect(endpoint["State"] as? String == "pendingAcceptance")
        #expect((endpoint["NetworkInterfaceIds"] as? [String])?.count == 2)
        let names = (endpoint["DnsEntries"] as? [[String: Any]] ?? []).compactMap { $0["DnsName"] as? String }
        #expect(names.contains(model.endpoints[0].dnsNames[0].name) && names.contains("api.live.example"))
        #expect(try run.get("client-a", "http://api.live.example/") == nil, "nothing passes before acceptance")

        // A second endpoint, made with the CLI in the other VPC.
        let outside = model.vpcs.first { $0.name == "outside" }!
        let subnet = model.subnets.first { $0.name == "outside-a" }!
        let made = try awsJSON(["ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", outside.id,
                                "--service-name", model.endpointServices[0].serviceName, "--subnet-ids", subnet.id,
                                "--no-private-dns-enabled", "--tag-specifications",
                                "ResourceType=vpc-endpoint,Tags=[{Key=Name,Value=stranger-endpoint}]"])["VpcEndpoint"] as? [String: Any]
        let madeID = try #require(made?["VpcEndpointId"] as? String, "\(String(describing: made))")
        #expect(made?["State"] as? String == "pendingAcceptance")
        let madeName = try #require((made?["DnsEntries"] as? [[String: Any]])?.first?["DnsName"] as? String)
        #expect(try run.run("stranger", "dig", ["+short", madeName]).output.hasPrefix("10.3.1."), "its name answers in its VPC at once")
        #expect(try run.get("stranger", "http://\(madeName)/") == nil, "nothing passes before acceptance")

        let connections = try awsJSON(["ec2", "describe-vpc-endpoint-connections", "--filters",
                                       "Name=vpc-endpoint-state,Values=pendingAcceptance"])["VpcEndpointConnections"] as? [[String: Any]]
        #expect(connections?.count == 2)
        let serviceID = try #require(connections?.first?["ServiceId"] as? String)
        let accepted = try awsJSON(["ec2", "accept-vpc-endpoint-connections", "--service-id", serviceID,
                                    "--vpc-endpoint-ids", model.endpoints[0].id, madeID])
        #expect((accepted["Unsuccessful"] as? [Any])?.isEmpty == true, "\(accepted)")
        try run.waitForLog("API: AcceptVpcEndpointConnections applied", seconds: 5)
        #expect(try run.get("client-a", "http://api.live.example/")?.hasPrefix("served by web-a") == true)
        #expect(try run.get("stranger", "http://\(madeName)/")?.hasPrefix("served by web-a") == true)
        let state = try awsJSON(["ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", model.endpoints[0].id,
                                 "--query", "VpcEndpoints[0].{State: State}"])
        #expect(state["State"] as? String == "available")

        // Targets by instance ID: web-c registered while a stream runs through web-a.
        let groups = try awsJSON(["elbv2", "describe-target-groups", "--names", "zonal"])["TargetGroups"] as? [[String: Any]]
        let arn = try #require(groups?.first?["TargetGroupArn"] as? String)
        func instance(_ host: String) -> String { model.hosts.first { $0.name == host }!.instanceID! }
        func health() throws -> [String: String] {
            let described = try awsJSON(["elbv2", "describe-target-health", "--target-group-arn", arn])
            var states: [String: String] = [:]
            for entry in described["TargetHealthDescriptions"] as? [[String: Any]] ?? [] {
                let id = (entry["Target"] as? [String: Any])?["Id"] as? String ?? "?"
                states[id] = (entry["TargetHealth"] as? [String: Any])?["State"] as? String
            }
            return states
        }
        try run.waitForLog("target web-b:80 in zonal is healthy", seconds: 20)
        #expect(try health() == [instance("web-a"): "healthy", instance("web-b"): "healthy"])
        let server = try run.start("web-a", "iperf3", ["-s", "-1", "-p", "5201"])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        usleep(500_000)
        let stream = try run.start("client-a", "iperf3", ["-c", endpointAddresses[0], "-p", "5201", "-t", "6", "-J"])
        sleep(2)
        #expect(try aws(["elbv2", "register-targets", "--target-group-arn", arn, "--targets", "Id=\(instance("web-c"))"]).status == 0)
        let output = (stream.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        stream.waitUntilExit()
        let report = try JSONSerialization.jsonObject(with: output) as? [String: Any]
        let intervals = (report?["intervals"] as? [[String: Any]] ?? []).map { (($0["sum"] as? [String: Any])?["bytes"] as? Int) ?? 0 }
        #expect(stream.terminationStatus == 0 && intervals.count >= 6 && intervals.allSatisfy { $0 > 100_000 },
                "iperf3 bytes per second: \(intervals)")
        try run.waitForLog("target web-c:80 in zonal is healthy", seconds: 20)
        #expect(try health()[instance("web-c")] == "healthy")
        var zonal: Set<String> = []
        for _ in 0..<24 { zonal.insert(try run.get("client-a", "http://\(zonalName("us-east-1a"))/") ?? "failed") }
        #expect(zonal == ["served by web-a in us-east-1a", "served by web-c in us-east-1a"])
        #expect(try aws(["elbv2", "deregister-targets", "--target-group-arn", arn, "--targets", "Id=\(instance("web-c"))"]).status == 0)
        #expect(try health()[instance("web-c")] == nil)

        // A target whose server is killed turns unhealthy, with AWS's reason.
        let pids = try runProgram("ip", ["netns", "pids", run.namespace("web-b")]).output
        for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        try run.waitForLog("target web-b:80 in zonal is unhealthy", seconds: 20)
        let webB = try awsJSON(["elbv2", "describe-target-health", "--target-group-arn", arn, "--targets", "Id=\(instance("web-b"))"])
        let described = (webB["TargetHealthDescriptions"] as? [[String: Any]])?.first?["TargetHealth"] as? [String: Any]
        #expect(described?["State"] as? String == "unhealthy" && described?["Reason"] as? String == "Target.FailedHealthChecks",
                "\(String(describing: described))")

        // Errors as AWS gives them, and the server still answers after them.
        let missing = try aws(["ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", "vpce-0000000000000000"])
        #expect(missing.status != 0 && missing.error.contains("InvalidVpcEndpointId.NotFound"), "\(missing.error)")
        let unsupported = try aws(["ec2", "create-vpc", "--cidr-block", "10.9.0.0/16"])
        #expect(unsupported.error.contains("UnsupportedOperation"), "\(unsupported.error)")
        let wrong = try aws(["elbv2", "register-targets", "--target-group-arn", arn, "--targets", "Id=\(instance("client-a"))"])
        #expect(wrong.error.contains("InvalidTarget"), "a host of another VPC: \(wrong.error)")

        // A rejection stops new flows.
        #expect(try aws(["ec2", "reject-vpc-endpoint-connections", "--service-id", serviceID,
                         "--vpc-endpoint-ids", model.endpoints[0].id]).status == 0)
        try run.waitForLog("API: RejectVpcEndpointConnections applied", seconds: 5)
        #expect(try run.get("client-a", "http://api.live.example/") == nil)

        // What the API changed is saved as a topology file that brings the same network up.
        let saved = try runProgram(privetExecutable()!, ["status", "live-api", "--yaml"])
        #expect(saved.status == 0, "\(saved.error)")
        let reloaded = Topology.load(yaml: saved.output)
        #expect(reloaded.errors.isEmpty, "\(reloaded.errors.map(\.description))")
        #expect(reloaded.topology?.endpoints.map(\.state) == [.rejected, .available])
        #expect(reloaded.topology?.endpoints.map(\.id) == [model.endpoints[0].id, madeID], "the same IDs")
        run.stop()
    }

    /// boto3 with paginators against `up --api`, and the error codes it expects; then a burst of
    /// malformed requests (bounded in count and time) after which the server still answers.
    @Test(.enabled(if: awsVenv() != nil, "boto3 is not installed in .build/aws-venv (scripts/test.sh installs it)"))
    func boto3PaginatesAndMalformedRequestsAreRefused() throws {
        let yaml = liveTopologyYAML().replacingOccurrences(of: "acceptanceRequired: false", with: "acceptanceRequired: true")
        let model = try #require(Topology.load(yaml: yaml).topology)
        let run = try LiveRun(name: "live-boto", yaml: yaml, arguments: ["--api", "\(Self.apiPort + 1)"])
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let script = folder.file("client.py")
        try """
            import random, socket, sys, time
            import boto3
            from botocore.exceptions import ClientError
            url = "http://127.0.0.1:\(Self.apiPort + 1)"
            ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
            elb = boto3.client("elbv2", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
            pages = list(elb.get_paginator("describe_target_groups").paginate(PaginationConfig={"PageSize": 1}))
            print("pages", len(pages), sum(len(p["TargetGroups"]) for p in pages))
            subnets = list(ec2.get_paginator("describe_subnets").paginate(PaginationConfig={"PageSize": 5}))
            print("subnets", sum(len(p["Subnets"]) for p in subnets))
            try:
                ec2.describe_vpc_endpoints(VpcEndpointIds=["vpce-0000000000000000"])
            except ClientError as error:
                print("error", error.response["Error"]["Code"])
            try:
                elb.describe_target_health(TargetGroupArn="arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/none/0")
            except ClientError as error:
                print("error", error.response["Error"]["Code"])
            # The round trip: an endpoint made, polled until it waits for acceptance, accepted,
            # polled until available (as a waiter polls).
            def wait_for(endpoint_id, state):
                for _ in range(50):
                    found = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]["State"]
                    if found == state:
                        return found
                    time.sleep(0.1)
                return found
            made = ec2.create_vpc_endpoint(VpcEndpointType="Interface", VpcId="\(model.vpcs.first { $0.name == "outside" }!.id)",
                                           ServiceName="\(model.endpointServices[0].serviceName)",
                                           SubnetIds=["\(model.subnets.first { $0.name == "outside-a" }!.id)"], PrivateDnsEnabled=False)
            endpoint_id = made["VpcEndpoint"]["VpcEndpointId"]
            print("made", wait_for(endpoint_id, "pendingAcceptance"))
            service_id = ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"][0]["ServiceId"]
            print("unsuccessful", len(ec2.accept_vpc_endpoint_connections(ServiceId=service_id, VpcEndpointIds=[endpoint_id])["Unsuccessful"]))
            print("accepted", wait_for(endpoint_id, "available"))
            random.seed(7)
            shapes = [b"GET / HTTP/1.1\\r\\n\\r\\n", b"\\x00\\xff" * 40, b"POST / HTTP/1.1\\r\\nContent-Length: 5\\r\\n\\r\\nAct",
                      b"POST / HTTP/1.1\\r\\nContent-Length: 99999999\\r\\n\\r\\n", b"POST / HTTP/1.1\\r\\n\\r\\nAction=%zz",
                      b"POST / HTTP/1.1\\r\\n\\r\\nAction=DescribeVpcs&Version=1999-01-01", b"BREW /pot HTCPCP/1.0\\r\\n\\r\\n"]
            answered = 0
            deadline = time.time() + 30
            for index in range(300):
                if time.time() > deadline:
                    break
                request = random.choice(shapes) if index % 2 else bytes(random.getrandbits(8) for _ in range(random.randint(1, 300))) + b"\\r\\n\\r\\n"
                with socket.create_connection(("127.0.0.1", \(Self.apiPort + 1)), timeout=10) as connection:
                    connection.sendall(request)
                    connection.shutdown(socket.SHUT_WR)
                    if connection.recv(100).startswith(b"HTTP/1.1 "):
                        answered += 1
            print("answered", answered)
            print("after", len(ec2.describe_vpcs()["Vpcs"]))
            """.write(toFile: script, atomically: false, encoding: .utf8)
        let result = try runProgram(awsVenv()! + "/python", [script])
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n").map(String.init)
        let groups = model.targetGroups.count
        #expect(lines.contains("pages \(groups) \(groups)"), "a target group a page: \(lines)")
        #expect(lines.contains("made pendingAcceptance") && lines.contains("unsuccessful 0") && lines.contains("accepted available"), "\(lines)")
        #expect(lines.contains("subnets \(model.subnets.count)"), "\(lines)")
        #expect(lines.contains("error InvalidVpcEndpointId.NotFound") && lines.contains("error TargetGroupNotFound"), "\(lines)")
        #expect(lines.contains("answered 300"), "every malformed request answered: \(lines)")
        #expect(lines.contains("after 3"), "the server answers after them: \(lines)")
        #expect(run.process.isRunning)
        run.stop()
    }
}
