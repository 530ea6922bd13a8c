import Foundation
import Glibc
import PacketIO
import PacketWire
import Topology

/// `privet demo --live`: the default topology on real namespaces, with the requests made by
/// Privet itself from inside the client namespaces (its own sockets, entered with setns): the
/// VPC resolver asked for the service's private DNS name, HTTP GETs through the interface
/// endpoint from both zones, GETs from the internet server through the GWLB's appliance and from
/// S3 through the gateway endpoint, and the cases AWS refuses.
public enum LiveDemo {
    public static func run(name: String = "demo", serverCommand: [String], say: (String) -> Void) throws(ForwarderError) {
        let topology = Topology.load(yaml: Topology.defaultYAML).topology!
        let network = LiveNetwork(topology: topology, name: name)
        try network.build(serverCommand: serverCommand)
        defer { network.teardown() }
        network.log = { _, line in print("  [privet] " + line) }
        try network.start()
        say(LiveReport.text(topology, name: name))
        // Give the servers a moment to listen.
        usleep(300_000)

        guard let endpoint = topology.endpoints.first(where: { $0.kind == .interface && $0.state == .available }),
              let serviceName = endpoint.privateDnsName else { return }
        for client in ["client-a", "client-b"] {
            let namespace = NetworkNamespace(name: LiveNetwork.namespaceName(topology: name, host: client))
            guard let host = topology.hosts.first(where: { $0.name == client }), case .vpc(let eni) = host.placement else { continue }
            let resolver = topology[topology[topology[eni].subnet].vpc].resolver
            let answer = (try? namespace.run { LiveDemo.resolve(serviceName, resolver: resolver) }) ?? nil
            guard let address = answer?.first(where: { topology.zoneOf(address: $0) == topology.zoneOf(host: host) }) ?? answer?.first else {
                say("\(client): \(serviceName) did not resolve through \(resolver)")
                continue
            }
            say("\(client): \(serviceName) → \(answer!.map(\.description).joined(separator: ", ")) (asked \(resolver)); using \(address)")
            for _ in 0..<3 {
                let reply = (try? namespace.run { LiveDemo.get(address, port: 80, host: serviceName) }) ?? "failed"
                say("  GET http://\(serviceName)/ → \(reply)")
            }
        }
        // The internet through the GWLB endpoint's appliance, and S3 through the gateway endpoint.
        let clientA = NetworkNamespace(name: LiveNetwork.namespaceName(topology: name, host: "client-a"))
        for (what, host) in [("the internet, inspected by the GWLB's appliance", "internet-server"),
                             ("S3, through the gateway endpoint", "s3")] {
            guard let server = topology.hosts.first(where: { $0.name == host }), case .external(_, let address?, _) = server.placement
            else { continue }
            let reply = (try? clientA.run { LiveDemo.get(address, port: 80, host: host) }) ?? "failed"
            say("client-a → \(what): GET http://\(address)/ → \(reply)")
        }
        // A consumer whose endpoint the provider rejected, and a provider opening a connection
        // back through its NLB: both refused by the fabric (docs/aws-behaviour.md §4).
        if let partner = topology.endpoints.first(where: { $0.state == .rejected }), let eni = partner.interfaces.first,
           let address = topology[eni].ipv4 {
            let namespace = NetworkNamespace(name: LiveNetwork.namespaceName(topology: name, host: "partner-client"))
            let reply = (try? namespace.run { LiveDemo.get(address, port: 80, host: serviceName, timeout: 1) }) ?? "failed"
            say("partner-client → its rejected endpoint \(address): \(reply)")
        }
        if let balancer = topology.loadBalancers.first(where: { $0.kind == .network }), let node = balancer.nodes.first,
           let address = topology[node.interface].ipv4 {
            // The NLB is also an internal one: web-b, in its VPC, is a client of its listener
            // (the zone-a node sends it to web-a, which sees web-b's own address); web-a reaching
            // itself that way fails (AWS's hairpin limit), and a port that is no listener's is
            // the way back to consumers, closed to the provider.
            for (host, port, what) in [("web-b", UInt16(80), "a client of the internal NLB"), ("web-a", 80, "itself, through its NLB"),
                                       ("web-a", 10000, "the way back to consumers (provider-initiated)")] {
                let namespace = NetworkNamespace(name: LiveNetwork.namespaceName(topology: name, host: host))
                let reply = (try? namespace.run { LiveDemo.get(address, port: port, host: "nlb", timeout: 1) }) ?? "failed"
                say("\(host) → its NLB's address \(address):\(port), \(what): \(reply)")
            }
        }
        network.stop()
        say(LiveReport.summary(network))
    }

    /// The A records of `name` from the resolver at `resolver`, over UDP; nil when none came.
    static func resolve(_ name: String, resolver: IPv4Address) -> [IPv4Address]? {
        let query = DNSMessage.query(id: 0x5052, name: name, type: DNSRecordCode.a)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 8)
        defer { buffer.deallocate() }
        do throws(IOError) {
            let socket = try Socket.udp()
            try socket.setTimeout(seconds: 2)
            try socket.send(query, to: SocketAddress(resolver, port: 53))
            let count = try socket.receive(into: buffer)
            return DNSMessage.addresses(inResponse: Array(buffer[0..<count]))?.addresses
        } catch {
            return nil
        }
    }

    /// An HTTP/1.0 GET of / from `address`; the body, or why it failed.
    static func get(_ address: IPv4Address, port: UInt16, host: String, timeout: Int = 3) -> String {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        var response: [UInt8] = []
        do throws(IOError) {
            let socket = try Socket.tcp()
            try socket.setTimeout(seconds: timeout)
            try socket.connect(SocketAddress(address, port: port))
            let request = Array("GET / HTTP/1.0\r\nHost: \(host)\r\nUser-Agent: privet-demo\r\n\r\n".utf8)
            try socket.send(request)
            while true {
                let count = try socket.receive(into: buffer)
                guard count > 0 else { break }
                response += buffer[0..<count]
            }
        } catch {
            // A timed-out connect or receive fails with EINPROGRESS or EAGAIN.
            if let code = error.errno, code == EINPROGRESS || code == EAGAIN || code == ETIMEDOUT {
                if response.isEmpty { return "no answer (timed out)" }
            } else if response.isEmpty {
                return "failed: \(error)"
            }
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return response.isEmpty ? "no answer (timed out)" : "bad response" }
        return String(text[split.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
