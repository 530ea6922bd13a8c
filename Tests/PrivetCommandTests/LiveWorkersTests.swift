import Foundation
import Glibc
import PacketIO
import Testing
import TestSupport
import Topology

extension LiveCommandTests {
    /// Three workers on the default topology (more than this machine may have cores): each
    /// reads its queue of every TUN device, and a packet of a flow another owns is handed over.
    /// Connections through the interface endpoint, through the GWLB's appliance and to S3 all
    /// work; four parallel iperf3 streams through the appliance (whose GENEVE returns belong to
    /// the flow inside) move data in every second; status
    /// and the summary at the end count the workers and the packets handed between them.
    /// With the devices steering each flow to its worker, no TCP or UDP packet is handed on;
    /// with the kernel choosing the queues, packets are, and forwarding works the same.
    @Test(arguments: [true, false])
    func threeWorkersForwardEveryPathAndCountTheirHandoffs(steered: Bool) throws {
        let run = try LiveRun(name: "live-workers", yaml: Topology.defaultYAML,
                              arguments: ["--workers", "3"] + (steered ? [] : ["--no-flow-steering"]))
        #expect(run.workers == 3, "\(run.log)")
        #expect(run.log.contains(steered ? "(the devices steer each flow to its worker)" : "(the kernel picks the queues; workers hand on what is not theirs)"),
                "\(run.log)")
        var served: [String: Int] = [:]
        for _ in 0..<24 { served[try run.get("client-a", "http://api.privet.example/") ?? "failed", default: 0] += 1 }
        for _ in 0..<8 { served[try run.get("client-b", "http://api.privet.example/") ?? "failed", default: 0] += 1 }
        #expect(served == ["served by web-a in us-east-1a": 24, "served by web-b in us-east-1b": 8], "\(served)")
        for _ in 0..<8 { #expect(try run.get("client-a", "http://198.51.100.10/") == "served by internet-server in internet") }
        #expect(try run.get("client-a", "http://52.216.10.10/") == "served by s3 in com.amazonaws.us-east-1.s3")

        let server = try run.start("internet-server", "iperf3", ["-s", "-1", "-p", "5201"])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        usleep(500_000)
        let client = try run.start("client-a", "iperf3", ["-c", "198.51.100.10", "-p", "5201", "-t", "3", "-P", "4", "-J"])
        let output = (client.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        client.waitUntilExit()
        let report = try JSONSerialization.jsonObject(with: output) as? [String: Any]
        #expect(client.terminationStatus == 0 && report?["error"] == nil, "\(String(decoding: output, as: UTF8.self).suffix(300))")
        let intervals = (report?["intervals"] as? [[String: Any]] ?? []).map { (($0["sum"] as? [String: Any])?["bytes"] as? Int) ?? 0 }
        #expect(intervals.count >= 3 && intervals.allSatisfy { $0 > 1_000_000 }, "iperf3 bytes per second, four streams: \(intervals)")

        let json = try runProgram(privetExecutable()!, ["status", "live-workers", "--json"])
        let status = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect(status?["workers"] as? Int == 3, "\(json.output)")
        if steered {
            #expect(status?["handedOff"] as? Int == 0, "\(json.output)")
        } else {
            // The clients' first packets reach the queue the kernel's hash picks, and the
            // appliance's returns the queue that last wrote their tunnel: about two in three
            // belong to another worker.
            #expect((status?["handedOff"] as? Int ?? 0) > 0, "\(json.output)")
        }
        #expect(status?["handoffRingFull"] as? Int == 0)
        #expect((status?["drops"] as? [String: Int] ?? [:]).isEmpty, "\(json.output)")
        let text = try runProgram(privetExecutable()!, ["status", "live-workers"])
        #expect(text.output.contains("; 3 workers ("), "\(text.output)")
        let log = run.stop()
        #expect(log.contains("  3 workers: "), "\(log)")
        // Into the appliance and back, the streams' segments cross as super-datagrams where the
        // kernel has UDP segmentation offload (6.2+): the appliance answers each in one send,
        // and the workers read it whole and cut it apart.
        if TUNDevice.kernelTakesUDPSegmentation {
            #expect(log.contains("super-datagrams (UDP segmentation offload); an appliance's super-datagrams (UDP_SEGMENT) are read whole"),
                    "\(log)")
            #expect(log.contains("  UDP super-datagrams read and cut apart: "), "\(log)")
        }
    }
}

