import Foundation
import Glibc
import PacketWire
import Testing
import TestSupport

/// `privet appliance` on a socket, in a namespace of its own: a GWLB stand-in (Python) sends
/// GENEVE from an ephemeral port; the reply must come back to 6081 from the appliance, with the
/// GWLB's port as its source and the GENEVE header unchanged; tshark decodes both legs. Then a
/// run of datagrams in one send, as a GWLB's super-datagram.
@Suite("privet appliance (root)", .serialized, .enabled(if: applianceUnavailable == nil, "\(applianceUnavailable ?? "")"))
struct ApplianceCommandTests {
    @Test func returnsGENEVEUnchangedAndDropsByRule() throws {
        let namespace = "privet-appliance-test"
        _ = try? runProgram("ip", ["netns", "delete", namespace])
        #expect(try runProgram("ip", ["netns", "add", namespace]).status == 0)
        defer { _ = try? runProgram("ip", ["netns", "delete", namespace]) }
        _ = try runProgram("ip", ["-n", namespace, "link", "set", "lo", "up"])
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }

        let appliance = Process()
        appliance.executableURL = URL(fileURLWithPath: findInPath("ip")!)
        appliance.arguments = ["netns", "exec", namespace, privetExecutable()!, "appliance", "--address", "127.0.0.2",
                               "--health-port", "18080", "--drop", "tcp:23"]
        let output = Pipe()
        appliance.standardOutput = output
        appliance.standardError = output
        try appliance.run()
        defer { if appliance.isRunning { kill(appliance.processIdentifier, SIGKILL) } }
        let capture = folder.file("geneve.pcap")
        let tshark = Process()
        tshark.executableURL = URL(fileURLWithPath: findInPath("ip")!)
        // Three datagrams are expected; it stops by itself (a signal mask inherited from the test
        // runner may hold SIGINT back).
        tshark.arguments = ["netns", "exec", namespace, "tshark", "-q", "-i", "lo", "-f", "udp port 6081", "-c", "3",
                            "-a", "duration:20", "-w", capture]
        tshark.standardOutput = Pipe()
        tshark.standardError = Pipe()
        try tshark.run()
        defer { if tshark.isRunning { kill(tshark.processIdentifier, SIGKILL) } }
        sleep(2)

        let kept = gwlbDatagramHex(port: 80), dropped = gwlbDatagramHex(port: 23)
        let exchange = try gwlbExchange(in: namespace, fromPort: 40123, sends: [([kept], kept, 1), ([dropped], dropped, 1)])
        // The kept packet returns from the appliance's address, from the GWLB's port, unchanged;
        // the telnet one is dropped by the rule.
        #expect(exchange.output == "127.0.0.2 40123 True\nno reply\n", "\(exchange.error)")
        let health = try runProgram("ip", ["netns", "exec", namespace, "curl", "-s", "-m", "2", "http://127.0.0.2:18080/"])
        #expect(health.output.contains("appliance"))

        tshark.waitUntilExit()
        // A run of three datagrams in one send (UDP_SEGMENT), as a GWLB's super-datagram comes:
        // the appliance takes it in one read, judges each, and the two it keeps come back as
        // two datagrams, each the one that went, in order.
        let runExchange = try gwlbExchange(in: namespace, fromPort: 40124, sends: [([kept, dropped, kept], kept, 3)])
        #expect(runExchange.output == "127.0.0.2 40124 True\n127.0.0.2 40124 True\nno reply\n", "\(runExchange.error)")

        appliance.terminate()
        appliance.waitUntilExit()
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(summary.contains("returned 3, invalid 0, dropped tcp:23 2"), "\(summary)")

        let decoded = try runProgram("tshark", ["-r", capture, "-d", "udp.port==6081,geneve", "-T", "fields",
                                               "-e", "ip.src", "-e", "udp.srcport", "-e", "udp.dstport",
                                               "-e", "geneve.option.class", "-e", "geneve.option.type", "-e", "tcp.dstport"])
        let lines = decoded.output.split(separator: "\n").map(String.init)
        // Three legs: the kept packet out and back, the dropped one out.
        #expect(lines.count == 3, "\(decoded.output)\(decoded.error)")
        // Outer and inner source addresses, UDP ports, AWS's option classes and types, the inner
        // TCP port: the GWLB's leg, then the appliance's with the outer addresses swapped.
        let options = "\t40123\t6081\t0x0108,0x0108,0x0108\t0x01,0x02,0x03\t"
        #expect(lines.first == "127.0.0.1,10.20.1.4" + options + "80", "\(lines)")
        #expect(lines.contains("127.0.0.2,10.20.1.4" + options + "80"), "\(lines)")
        #expect(lines.contains("127.0.0.1,10.20.1.4" + options + "23"), "\(lines)")
    }
}

let applianceUnavailable: String? = {
    if geteuid() != 0 { return "the appliance test needs root (a namespace, a raw socket)" }
    if privetExecutable() == nil { return "the privet executable is not built beside the tests" }
    for program in ["ip", "tshark", "python3", "curl"] where findInPath(program) == nil {
        return "\(program) is not installed (scripts/test.sh installs it)"
    }
    return nil
}()

/// A GWLB stand-in in `namespace`: for each send, its datagrams (hex) from 127.0.0.1:`fromPort`
/// to the appliance at 127.0.0.2:6081, several in one `UDP_SEGMENT` send as a GWLB's
/// super-datagram comes; then, of the replies to 127.0.0.1:6081, up to `replies` lines: who sent
/// each and whether it is `expected`, or "no reply" after 2 s.
func gwlbExchange(in namespace: String, fromPort: Int, sends: [(datagrams: [String], expected: String, replies: Int)]) throws -> ProgramResult {
    let runs = sends.map { send in
        "([\(send.datagrams.map { "bytes.fromhex('\($0)')" }.joined(separator: ", "))], bytes.fromhex('\(send.expected)'), \(send.replies))"
    }
    let script = """
        import socket
        back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); back.bind(('127.0.0.1', 6081)); back.settimeout(2)
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); out.bind(('127.0.0.1', \(fromPort)))
        for datagrams, expected, replies in [\(runs.joined(separator: ", "))]:
            if len(datagrams) > 1:
                assert all(len(d) == len(datagrams[0]) for d in datagrams)
                out.setsockopt(socket.SOL_UDP, 103, len(datagrams[0]))
            out.sendto(b''.join(datagrams), ('127.0.0.2', 6081))
            for _ in range(replies):
                try:
                    reply, peer = back.recvfrom(65535)
                    print(peer[0], peer[1], reply == expected)
                except socket.timeout:
                    print('no reply')
        """
    return try runProgram("ip", ["netns", "exec", namespace, "python3", "-c", script])
}

/// A GWLB's datagram around a TCP SYN to `port`, in hex for Python.
func gwlbDatagramHex(port: UInt16) -> String {
    gwlbDatagram(inner: innerTCP(port: port)).map { String(format: "%02x", $0) }.joined()
}
