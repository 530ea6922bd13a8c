import ArgumentParser
import Dispatch
import BuiltInServers
import Forwarder
import ReferenceAppliance
import Foundation
import Glibc
import PacketWire
import Topology

struct Appliance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the reference GWLB appliance: GENEVE on UDP 6081, returned unchanged (root).",
        discussion: """
            Takes the GENEVE datagrams a Gateway Load Balancer sends, checks that each carries an \
            IPv4 or IPv6 packet and AWS's three options, and sends it back to the GWLB inside the \
            same header, byte for byte, unless a --drop rule matches its inner packet. Answers \
            health checks over HTTP on the health port. Ctrl-C or SIGTERM prints the counters and \
            stops. Rules: tcp, udp, icmp, icmpv6, or tcp:PORT / udp:PORT for a destination port.
            """
    )

    @Option(help: "The IPv4 address to listen on (default: all).")
    var address: String?

    @Option(help: "The GENEVE port.")
    var port: UInt16 = GENEVEHeader.udpPort

    @Option(help: "The port of the HTTP health check (AWS's default for GENEVE target groups); 0 for none.")
    var healthPort: UInt16 = 80

    @Option(name: .customLong("drop"), help: "Drop inner packets that match RULE (repeatable).")
    var dropRules: [String] = []

    @Option(name: .customLong("count"), help: "Count inner packets that match RULE (repeatable).")
    var countRules: [String] = []

    func rules(_ texts: [String]) throws -> [ApplianceRule] {
        try texts.map { text in
            guard let rule = ApplianceRule(text) else {
                throw ValidationError("'\(text)' is not a rule: use \(ApplianceRule.forms)")
            }
            return rule
        }
    }

    func run() throws {
        let listen: IPv4Address?
        if let address {
            guard let parsed = IPv4Address(address) else { throw ValidationError("'\(address)' is not an IPv4 address") }
            listen = parsed
        } else {
            listen = nil
        }
        let inspector = ApplianceInspector(drops: try rules(dropRules), counts: try rules(countRules))
        if healthPort != 0 {
            let port = healthPort
            Thread { try? BuiltInServer.run(kind: .http, port: port, identity: "appliance") }.start()
        }
        let geneve = port
        let failed = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: String?
        Thread {
            do { try ApplianceServer.run(address: listen, port: geneve, inspector: inspector) } catch {
                failure = "\(error)"
                failed.signal()
            }
        }.start()
        print("appliance: GENEVE on \(listen?.description ?? "*"):\(port)" + (healthPort != 0 ? ", health checks on HTTP \(healthPort)" : ""))
        fflush(nil)
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .main)
            source.setEventHandler {
                print("appliance: " + inspector.summary)
                fflush(nil)
                Glibc.exit(0)
            }
            source.resume()
            sources.append(source)
        }
        DispatchQueue.global().async {
            failed.wait()
            writeToStandardError("Error: \(failure ?? "")\n")
            Glibc.exit(1)
        }
        dispatchMain()
    }
}
