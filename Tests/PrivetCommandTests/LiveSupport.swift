import Foundation
import Glibc
import TestSupport
import Topology

/// Why the live tests cannot run here, or nil when they can: they make namespaces and TUN devices
/// (root) and run real programs inside them.
let liveUnavailable: String? = {
    if geteuid() != 0 { return "live tests need root (namespaces and TUN devices)" }
    if privetExecutable() == nil { return "the privet executable is not built beside the tests" }
    for program in ["ip", "curl", "dig", "iperf3", "tshark", "python3", "nft", "haproxy"] where findInPath(program) == nil {
        return "\(program) is not installed (scripts/test.sh installs it)"
    }
    return nil
}()

/// A topology for the live tests: two zones; web-a and web-b serve HTTP behind an NLB (zonal
/// listener 80 with cross-zone off, listener 8080 with cross-zone on, 5201 for iperf3 on web-a);
/// web-c serves but is registered nowhere until a reload adds it; client-a and client-b reach
/// the service through an interface endpoint with private DNS; `stranger` lives in another VPC.
func liveTopologyYAML(iperfTargets: String = "[{host: web-a}]", zonalTargets: String = "[{host: web-a}, {host: web-b}]") -> String {
    """
    region: us-east-1
    zones:
      - {name: us-east-1a, id: use1-az1}
      - {name: us-east-1b, id: use1-az2}
    accounts:
      - {name: provider, id: "111111111111"}
      - {name: consumer, id: "222222222222"}
    vpcs:
      - {name: provider, account: provider, cidr: 10.1.0.0/16}
      - {name: consumer, account: consumer, cidr: 10.2.0.0/16, ipv6Cidr: "fd00:2::/56"}
      - {name: outside, account: consumer, cidr: 10.3.0.0/16}
    subnets:
      - {name: provider-a, vpc: provider, zone: us-east-1a, cidr: 10.1.1.0/24}
      - {name: provider-b, vpc: provider, zone: us-east-1b, cidr: 10.1.2.0/24}
      - {name: consumer-a, vpc: consumer, zone: us-east-1a, cidr: 10.2.1.0/24, ipv6Cidr: "fd00:2:0:1::/64"}
      - {name: consumer-b, vpc: consumer, zone: us-east-1b, cidr: 10.2.2.0/24, ipv6Cidr: "fd00:2:0:2::/64"}
      - {name: outside-a, vpc: outside, zone: us-east-1a, cidr: 10.3.1.0/24}
    securityGroups:
      # The targets see the NLB's private addresses (docs/aws-behaviour.md §3).
      - name: web
        vpc: provider
        ingress:
          - {protocol: tcp, ports: 80, cidr: 10.1.0.0/16}
          - {protocol: tcp, ports: 5201, cidr: 10.1.0.0/16}
      - name: endpoint
        vpc: consumer
        ingress:
          - {protocol: tcp, ports: 80, cidr: 10.2.0.0/16}
          - {protocol: tcp, ports: 8080, cidr: 10.2.0.0/16}
          - {protocol: tcp, ports: 5201, cidr: 10.2.0.0/16}
    hosts:
      - {name: web-a, subnet: provider-a, securityGroups: [web], server: {protocol: http, port: 80}}
      - {name: web-b, subnet: provider-b, securityGroups: [web], server: {protocol: http, port: 80}}
      - {name: web-c, subnet: provider-a, securityGroups: [web], server: {protocol: http, port: 80}}
      - {name: client-a, subnet: consumer-a}
      - {name: client-b, subnet: consumer-b}
      - {name: stranger, subnet: outside-a}
    loadBalancers:
      - name: nlb
        type: network
        subnets: [provider-a, provider-b]
        listeners:
          - {protocol: TCP, port: 80, targetGroup: zonal}
          - {protocol: TCP, port: 8080, targetGroup: spread}
          - {protocol: TCP, port: 5201, targetGroup: iperf}
    targetGroups:
      - name: zonal
        protocol: TCP
        port: 80
        crossZone: "false"
        targets: \(zonalTargets)
        healthCheck: {protocol: TCP, interval: 5, timeout: 2, healthyThreshold: 2, unhealthyThreshold: 2}
      - name: spread
        protocol: TCP
        port: 80
        crossZone: "true"
        targets: [{host: web-a}, {host: web-b}]
        healthCheck: {protocol: TCP, interval: 5, timeout: 2, healthyThreshold: 2, unhealthyThreshold: 2}
      - name: iperf
        protocol: TCP
        port: 5201
        targets: \(iperfTargets)
        healthCheck: {protocol: TCP, interval: 300, timeout: 10, healthyThreshold: 2, unhealthyThreshold: 10}
    endpointServices:
      - name: service
        account: provider
        loadBalancers: [nlb]
        acceptanceRequired: false
        allowedPrincipals: [arn:aws:iam::222222222222:root]
        privateDnsName: api.live.example
        privateDnsNameVerification: verified
    endpoints:
      - name: endpoint
        type: Interface
        vpc: consumer
        service: service
        subnets: [consumer-a, consumer-b]
        securityGroups: [endpoint]
    hostedZones:
      - name: live.example
        records:
          - {name: api.live.example, type: A, values: [203.0.113.10]}
      - name: corp.internal
        private: true
        vpcs: [consumer]
        records:
          - {name: db.corp.internal, type: A, values: [10.2.1.50]}
          - {name: www.corp.internal, type: CNAME, values: [db.corp.internal]}
    """
}

/// `privet up` running in the background for one test; `stop` (or the end of the test) removes
/// what it made.
final class LiveRun {
    let name: String
    let path: String
    let logPath: String
    let process: Process
    let folder: ScratchFolder

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(name: String, yaml: String, arguments: [String] = []) throws {
        folder = try ScratchFolder()
        self.name = name
        path = folder.file(name + ".yaml")
        logPath = folder.file("up.log")
        try yaml.write(toFile: path, atomically: false, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: privetExecutable()!)
        process.arguments = ["up", path] + arguments
        let log = FileHandle(forWritingAtPath: logPath)!
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try waitForLog("Forwarding on ", seconds: 30)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The workers forwarding, as `up` said at start ("Forwarding on N workers").
    var workers: Int {
        guard let range = log.range(of: "Forwarding on ") else { return 0 }
        return Int(log[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    /// Waits until the log of `up` says `text`.
    func waitForLog(_ text: String, seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !log.contains(text) {
            guard process.isRunning else { throw Failure(description: "privet up exited: \(log)") }
            guard Date() < deadline else { throw Failure(description: "no '\(text)' from privet up in \(seconds) s: \(log)") }
            usleep(100_000)
        }
    }

    func namespace(_ host: String) -> String { "privet-\(name)-\(host)" }

    /// Runs `program` inside `host`'s namespace.
    func run(_ host: String, _ program: String, _ arguments: [String]) throws -> ProgramResult {
        try runProgram("ip", ["netns", "exec", namespace(host), program] + arguments)
    }

    /// Starts `program` inside `host`'s namespace in the background.
    func start(_ host: String, _ program: String, _ arguments: [String]) throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: findInPath("ip")!)
        child.arguments = ["netns", "exec", namespace(host), program] + arguments
        child.standardOutput = Pipe()
        child.standardError = Pipe()
        try child.run()
        return child
    }

    /// The body of an HTTP GET from `host`, or nil when it failed.
    func get(_ host: String, _ url: String) throws -> String? {
        let result = try run(host, "curl", ["-s", "-m", "5", url])
        return result.status == 0 ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// Stops `up` with SIGTERM; returns its log.
    @discardableResult
    func stop() -> String {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return log
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        _ = try? runProgram(privetExecutable()!, ["down", path])
        folder.cleanUp()
    }
}

/// The privet namespaces now present, whose names start with `prefix`.
func namespaces(startingWith prefix: String) -> [String] {
    let listed = (try? runProgram("ip", ["netns", "list"]).output) ?? ""
    return listed.split(separator: "\n").map { String($0.split(separator: " ")[0]) }.filter { $0.hasPrefix(prefix) }
}
