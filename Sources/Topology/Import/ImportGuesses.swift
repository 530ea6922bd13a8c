import PacketWire

// What an importer chooses where its source says nothing, shared by the CloudFormation and the
// AWS CLI importers; each choice is said in the file's header.

extension TopologySpec {
    /// What lies outside the source that its routes lead to, so that traffic can be seen
    /// flowing: an AWS service's prefix list and a server in its network for each gateway
    /// endpoint, and a server on the internet where a route goes to an internet gateway.
    mutating func addOutsideWorld(guesses: inout [String]) {
        let at = FilePosition(line: 1, column: 1)
        for endpoint in endpoints where endpoint.type.value == "Gateway" {
            guard let service = endpoint.serviceName?.value, !hosts.contains(where: { $0.network?.value == service }) else { continue }
            let short = String(service.split(separator: ".").last ?? "service")
            if !prefixLists.contains(where: { $0.name.value == service }) {
                let id = Names.resourceID("pl", kind: "PrefixList", name: service)
                prefixLists.append(PrefixListSpec(id: Located(id, at: at), name: Located(service, at: at),
                                                  cidrs: PrefixListSpec.guessedRanges(service).map { Located($0, at: at) }))
                guesses.append("prefix list \(id) of \(service) holds \(PrefixListSpec.guessedRanges(service).joined(separator: ", "))")
            }
            guard let list = prefixLists.first(where: { $0.name.value == service }), let first = list.cidrs.first,
                  let address = IPv4Prefix(first.value)?.address(at: 10) else { continue }
            var host = HostSpec(name: Located(short, at: at), network: Located(service, at: at),
                                addresses: [Located(address.description, at: at)])
            host.server = ServerSpec(location: at, kind: Located("http", at: at), port: Located(80, at: at))
            hosts.append(host)
            guesses.append("host \(short) at \(address) serves HTTP on 80 in the network of \(service)")
        }
        let routes = routeTables.flatMap(\.routes).filter { $0.target.value == "internetGateway" }
        let ipv4 = routes.contains { $0.destination.value == "0.0.0.0/0" }, ipv6 = routes.contains { $0.destination.value == "::/0" }
        guard ipv4 || ipv6, !hosts.contains(where: { $0.network?.value == "internet" }) else { return }
        let addresses = (ipv4 ? ["198.51.100.10"] : []) + (ipv6 ? ["2001:db8::10"] : [])
        var host = HostSpec(name: Located("internet-server", at: at), network: Located("internet", at: at),
                            addresses: addresses.map { Located($0, at: at) })
        host.server = ServerSpec(location: at, kind: Located("http", at: at), port: Located(80, at: at))
        hosts.append(host)
        guesses.append("host internet-server at \(addresses.joined(separator: " and ")) serves HTTP on 80 on the internet")
    }
}

extension PrefixListSpec {
    /// Ranges of an AWS service's published list (ip-ranges.json) that stand in for the real
    /// list, whose entries neither a template nor `describe-managed-prefix-lists` gives.
    static func guessedRanges(_ service: String) -> [String] {
        service.hasSuffix(".s3") ? ["52.216.0.0/15", "54.231.0.0/16"] : ["52.94.0.0/22"]
    }
}

extension ServerSpec {
    /// What a target group's target runs so that traffic can be seen: the reference appliance
    /// for GENEVE (health checks on its health port), an echo server for UDP, HTTP otherwise,
    /// on the group's port; and the words for the guess.
    static func guessed(targetProtocol: String, port: Int?, healthPort: String?, at location: FilePosition) -> (spec: ServerSpec, what: String) {
        if targetProtocol.uppercased() == "GENEVE" {
            let health = healthPort.flatMap { Int($0) } ?? 80
            return (ServerSpec(location: location, kind: Located("appliance", at: location), port: Located(health, at: location)),
                    "the reference appliance, health checks on HTTP \(health)")
        }
        let kind = targetProtocol.uppercased() == "UDP" ? "udp-echo" : "http"
        let port = port ?? 80
        return (ServerSpec(location: location, kind: Located(kind, at: location), port: Located(port, at: location)),
                "a built-in \(kind) server on port \(port), its target group's")
    }
}
