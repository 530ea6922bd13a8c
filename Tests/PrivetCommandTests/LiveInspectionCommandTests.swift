import Foundation
import Glibc
import Testing
import TestSupport
import Topology

/// `privet status`, `flows`, `exec` and `down` against a running `privet up`, as a user runs
/// them: through the control socket of the `up`. Part of the live suite, so that they run one at
/// a time with the other live tests (a SYN flood beside them would starve both of the 2 cores).
extension LiveCommandTests {
    @Test func lookIntoARunningTopologyAndStopIt() throws {
        let run = try LiveRun(name: "live-look", yaml: liveTopologyYAML())
        let privet = privetExecutable()!

        // exec: a command in client-a's namespace, with its VPC's resolver (the private DNS name).
        let fetched = try runProgram(privet, ["exec", run.path, "client-a", "--", "curl", "-s", "-m", "5", "http://api.live.example/"])
        #expect(fetched.status == 0 && fetched.output.hasPrefix("served by web-a"), "\(fetched.output)\(fetched.error)")
        let failing = try runProgram(privet, ["exec", run.path, "client-a", "--", "false"])
        #expect(failing.status == 1, "exec passes the command's exit status on")

        // flows: the connection just made, both tuples, through the endpoint to web-a.
        let flows = try runProgram(privet, ["flows", "live-look", "--host", "client-a", "--json"])
        #expect(flows.status == 0, "\(flows.error)")
        let list = try JSONSerialization.jsonObject(with: Data(flows.output.utf8)) as? [[String: Any]] ?? []
        let flow = list.first { ($0["target"] as? String) == "web-a:80" }
        #expect(flow?["kind"] as? String == "endpoint" && flow?["endpoint"] as? String == "endpoint", "\(flows.output)")
        #expect((flow?["forward"] as? String)?.hasPrefix("10.2.1.4:") == true, "the consumer's side: \(flows.output)")
        #expect((flow?["reverse"] as? String)?.hasPrefix("10.1.1.4:80 → 10.1.1.") == true, "the target's side: \(flows.output)")
        #expect((flow?["packetsForward"] as? Int ?? 0) >= 3)
        let none = try runProgram(privet, ["flows", "live-look", "--target", "web-b", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(none.output.utf8)) as? [Any])?.isEmpty == true, "\(none.output)")

        // status: text for people, JSON for programs.
        let status = try runProgram(privet, ["status", "live-look"])
        #expect(status.status == 0, "\(status.error)")
        for text in ["Topology 'live-look', up ", "privet-live-look-client-a", "endpoint", "available", "nlb in us-east-1a",
                     "web-a:80 in zonal", "healthy"] {
            #expect(status.output.contains(text), "«\(text)» in \(status.output)")
        }
        let json = try runProgram(privet, ["status", run.path, "--json"])
        let document = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect(document?["topology"] as? String == "live-look")
        #expect((document?["hosts"] as? [Any])?.count == 6)
        #expect((document?["sessionCapacity"] as? Int ?? 0) > 0)
        let client = (document?["ports"] as? [[String: Any]])?.first { $0["name"] as? String == "client-a" }
        #expect((client?["packetsIn"] as? Int ?? 0) > 0, "\(json.output)")

        // down stops the running up, which removes what it made and says so.
        let down = try runProgram(privet, ["down", run.path])
        #expect(down.status == 0 && down.output.contains("stopped the running `privet up` of 'live-look'"), "\(down.output)\(down.error)")
        run.process.waitUntilExit()
        #expect(run.log.contains("removed the namespaces of live-look"), "\(run.log)")
        #expect(namespaces(startingWith: "privet-live-look-").isEmpty)

        let after = try runProgram(privet, ["status", "live-look"])
        #expect(after.status == 1 && after.error.contains("topology 'live-look' is not running"), "\(after.error)")
        let exec = try runProgram(privet, ["exec", "live-look", "client-a", "--", "true"])
        #expect(exec.status == 1 && exec.error.contains("is not up"), "\(exec.error)")
    }

    /// A host's namespace removed under the running `up` (its TUN device goes with it): `up`
    /// says so and forwards on for the rest, without spinning on the dead device.
    @Test func aDeviceVanishingUnderUpIsNoticed() throws {
        let run = try LiveRun(name: "live-vanish", yaml: liveTopologyYAML())
        _ = try runProgram("ip", ["netns", "del", run.namespace("client-b")])
        try run.waitForLog("host client-b: its device failed", seconds: 5)
        // CPU time of `up` over two seconds: a loop spinning on the dead device takes them all.
        func cpuTicks() -> Int {
            let stat = (try? String(contentsOfFile: "/proc/\(run.process.processIdentifier)/stat", encoding: .utf8)) ?? ""
            let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
            return fields.count > 13 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
        }
        let before = cpuTicks()
        sleep(2)
        let used = cpuTicks() - before
        #expect(used < Int(sysconf(Int32(_SC_CLK_TCK))) / 2, "up used \(used) ticks of CPU in 2 s")
        #expect(try run.get("client-a", "http://api.live.example/")?.hasPrefix("served by") == true, "the others still forward")
        run.stop()
    }

    /// Every line `up` logs has an RFC 3339 time and a level; `--log-format json` makes each a
    /// JSON object; each target's first health result is logged at start.
    @Test func logLinesAreTimestampedAndJSONOnRequest() throws {
        let text = try LiveRun(name: "live-logtext", yaml: liveTopologyYAML())
        try text.waitForLog("first check passed", seconds: 15)
        let lines = text.stop().split(separator: "\n").filter { $0.contains("first check") }
        #expect(!lines.isEmpty)
        let stamped = try Regex("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z info target ")
        for line in lines { #expect(line.contains(stamped), "\(line)") }

        let json = try LiveRun(name: "live-logjson", yaml: liveTopologyYAML(), arguments: ["--log-format", "json"])
        try json.waitForLog("first check passed", seconds: 15)
        let log = json.stop()
        let records = log.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(records.count >= 3, "\(log)")
        for record in records {
            let object = try JSONSerialization.jsonObject(with: Data(record.utf8)) as? [String: String]
            #expect(object?["level"] != nil && object?["message"] != nil && object?["time"]?.hasSuffix("Z") == true, "\(record)")
        }
        #expect(!log.split(separator: "\n").contains { !$0.hasPrefix("{") && !$0.contains("warning:") }, "only JSON lines (and validate's warnings): \(log)")
    }

    /// `--metrics`: Prometheus's text format, scraped while traffic flows, accepted by
    /// `promtool check metrics`, with the counts the traffic made.
    @Test(.enabled(if: findInPath("promtool") != nil, "promtool (Debian's prometheus) is not installed"))
    func metricsScrapedWhileTrafficFlows() throws {
        let port = 19464
        let run = try LiveRun(name: "live-metrics", yaml: liveTopologyYAML(), arguments: ["--metrics", "127.0.0.1:\(port)"])
        for _ in 0..<3 { #expect(try run.get("client-a", "http://api.live.example/")?.hasPrefix("served by") == true) }
        let scraped = try runProgram("curl", ["-s", "-m", "5", "http://127.0.0.1:\(port)/metrics"])
        #expect(scraped.status == 0, "\(scraped.error)")
        let text = scraped.output
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        try text.write(toFile: folder.file("metrics.txt"), atomically: false, encoding: .utf8)
        let checked = try runProgram("sh", ["-c", "promtool check metrics < \(folder.file("metrics.txt"))"])
        #expect(checked.status == 0, "promtool: \(checked.output)\(checked.error)")
        func value(_ series: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        #expect((value("privet_port_packets_total{port=\"client-a\",direction=\"in\"}") ?? 0) >= 9, "\(text)")
        #expect(value("privet_target_healthy{target_group=\"zonal\",target=\"web-a:80\"}") == 1)
        #expect((value("privet_target_flows_total{target_group=\"zonal\",target=\"web-a:80\"}") ?? 0) >= 3)
        #expect(value("privet_sessions_capacity") == 65536)
        #expect(value("privet_tun_kernel_dropped_total{host=\"client-a\",direction=\"to_privet\"}") != nil)
        #expect(text.contains("privet_batch_packets_bucket{le=\"+Inf\"}"))
        let missing = try runProgram("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/other"])
        #expect(missing.output == "404")
        run.stop()
    }

    /// `up --flow-log`: VPC Flow Logs records of live traffic, as replay writes them: ACCEPT on
    /// the client's ENI, REJECT on the ENI whose security group refused (web-b, left in its
    /// default group, refuses the NLB's probes) as the probes came in, times in Unix seconds;
    /// version 2's fields and, after them, the custom format's.
    @Test func flowLogOfLiveTraffic() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("flow-log.txt")
        let yaml = liveTopologyYAML().replacingOccurrences(of: "{name: web-b, subnet: provider-b, securityGroups: [web], server:",
                                                           with: "{name: web-b, subnet: provider-b, server:")
        let fields = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
            + "log-status flow-direction tcp-flags az-id pkt-dstaddr"
        let format = fields.split(separator: " ").map { "${\($0)}" }.joined(separator: " ")
        let run = try LiveRun(name: "live-flowlog", yaml: yaml, arguments: ["--flow-log", path, "--flow-log-format", format])
        #expect(try run.get("client-a", "http://api.live.example/")?.hasPrefix("served by web-a") == true)
        try run.waitForLog("target web-b:80 in zonal is unhealthy", seconds: 20)
        let down = try runProgram(privetExecutable()!, ["down", run.path])
        #expect(down.status == 0, "\(down.error)")
        run.process.waitUntilExit()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == fields)
        let model = try #require(Topology.load(yaml: yaml).topology)
        func eni(_ host: String) -> NetworkInterface {
            guard case .vpc(let eni) = model.hosts.first(where: { $0.name == host })!.placement else { fatalError() }
            return model[eni]
        }
        let now = Int(Date().timeIntervalSince1970)
        let accepted = lines.first { $0.contains(" \(eni("client-a").id) 10.2.1.4 ") && $0.contains(" ACCEPT OK egress ") }
        #expect(accepted != nil, "\(lines)")
        if let record = accepted?.split(separator: " "), record.count == 18, let start = Int(record[10]) {
            #expect(abs(start - now) < 120, "Unix seconds: \(start) against \(now)")
            #expect(record[0] == "5" && record[16] == "use1-az1", "\(record)")
            #expect(Int(record[15]).map { $0 & 2 != 0 } == true, "the connection's SYN: \(record)")
        }
        let webB = eni("web-b")
        #expect(lines.contains { $0.contains(" \(webB.id) 10.1.") && $0.contains(" \(webB.ipv4!) ") && $0.contains(" 80 6 ")
                                 && $0.contains(" REJECT OK ingress ") }, "\(lines)")
    }

    /// SIGTERM while `up` is still building: what it made so far is removed, and it says so.
    @Test func aSignalDuringTheBuildRemovesWhatWasMade() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("live-interrupted.yaml")
        // Sixty more hosts, so that the build lasts long enough (about 1.5 s) for the signal to
        // come in the middle of it: with a few hosts it is over in a tenth of a second.
        let extra = (1...60).map { "  - {name: extra-\($0), subnet: consumer-a}\n" }.joined()
        try liveTopologyYAML().replacingOccurrences(of: "  - {name: stranger, subnet: outside-a}\n",
                                                   with: "  - {name: stranger, subnet: outside-a}\n" + extra)
            .write(toFile: path, atomically: false, encoding: .utf8)
        let up = Process()
        up.executableURL = URL(fileURLWithPath: privetExecutable()!)
        up.arguments = ["up", path]
        let errors = Pipe()
        up.standardOutput = Pipe()
        up.standardError = errors
        try up.run()
        let deadline = Date().addingTimeInterval(20)
        while namespaces(startingWith: "privet-live-interrupted-").isEmpty && Date() < deadline && up.isRunning { usleep(20_000) }
        #expect(!namespaces(startingWith: "privet-live-interrupted-").isEmpty, "a first namespace was made")
        up.terminate()
        up.waitUntilExit()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(up.terminationStatus == 1 && said.contains("interrupted while building"), "\(said)")
        #expect(namespaces(startingWith: "privet-live-interrupted-").isEmpty, "nothing left")
        _ = try? runProgram(privetExecutable()!, ["down", path])
    }
}
