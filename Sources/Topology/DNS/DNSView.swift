import PacketWire

// Split-horizon name resolution as the Amazon-provided resolver does it (docs/aws-behaviour.md §4,
// §8). Asked from inside a VPC: the private hosted zones associated with it (the most specific
// zone that contains the name wins, and a name it does not hold is NXDOMAIN, with no fall back
// to public DNS), the private DNS names of the VPC's endpoints (a hidden private zone each), then
// the public names. Asked from outside: the public names only. Public names are the endpoints'
// regional and zonal names (which resolve to the ENIs' private addresses), the load balancers'
// names and the public hosted zones.

/// The answer to one question.
public enum DNSAnswer: Equatable, Sendable {
    case ipv4([IPv4Address])
    case ipv6([IPv6Address])
    case text([String])
    /// An alias (CNAME): ask again for this name.
    case alias(String)
    /// The name does not exist.
    case nxdomain
    /// The name exists, without records of the type asked.
    case noData
}

public enum DNSRecordType: String, Sendable {
    case a = "A"
    case aaaa = "AAAA"
    case txt = "TXT"
    case cname = "CNAME"
}

public struct DNSView: Sendable {
    /// Records of one name, as a zone holds them.
    struct Records: Sendable {
        var ipv4: [IPv4Address] = []
        var ipv6: [IPv6Address] = []
        var text: [String] = []
        var alias: String?

        func answer(_ type: DNSRecordType) -> DNSAnswer {
            if let alias { return .alias(alias) }
            switch type {
            case .a: return ipv4.isEmpty ? .noData : .ipv4(ipv4)
            case .aaaa: return ipv6.isEmpty ? .noData : .ipv6(ipv6)
            case .txt: return text.isEmpty ? .noData : .text(text)
            case .cname: return .noData
            }
        }
    }

    struct Zone: Sendable {
        var name: String
        var records: [String: Records]
    }

    /// Private zones by VPC index (hosted zones, and a zone per endpoint private DNS name).
    private var privateZones: [Int: [Zone]] = [:]
    private var publicZones: [Zone] = []
    /// Names that resolve from anywhere.
    private var publicNames: [String: Records] = [:]
    /// VPCs whose resolver answers (enableDnsSupport).
    private var resolving: Set<Int> = []

    public init(_ topology: Topology) {
        for (index, vpc) in topology.vpcs.enumerated() where vpc.enableDnsSupport { resolving.insert(index) }
        for zone in topology.hostedZones {
            var records: [String: Records] = [:]
            for record in zone.records {
                var entry = records[record.name] ?? Records()
                switch record.type {
                case "A": entry.ipv4 += record.values.compactMap { IPv4Address($0) }
                case "AAAA": entry.ipv6 += record.values.compactMap { IPv6Address($0) }
                case "TXT": entry.text += record.values
                default: entry.alias = record.values.first.map(DNSView.normalized)
                }
                records[record.name] = entry
            }
            let compiled = Zone(name: zone.name, records: records)
            if zone.isPrivate {
                for vpc in zone.vpcs { privateZones[vpc.index, default: []].append(compiled) }
            } else {
                publicZones.append(compiled)
            }
        }
        for endpoint in topology.endpoints where endpoint.kind == .interface {
            let interfaces = endpoint.interfaces.map { topology[$0] }
            func records(_ chosen: [NetworkInterface]) -> Records {
                var records = Records()
                // dnsRecordIpType says which families the endpoint's names answer with (§4).
                if endpoint.dnsRecordIpType != "ipv6" { records.ipv4 = chosen.compactMap(\.ipv4) }
                if endpoint.dnsRecordIpType == "ipv6" || endpoint.dnsRecordIpType == "dualstack"
                    || endpoint.dnsRecordIpType == "service-defined" { records.ipv6 = chosen.compactMap(\.ipv6) }
                return records
            }
            for name in endpoint.dnsNames {
                let chosen = name.zone.map { zone in interfaces.filter { topology[$0.subnet].zone == zone } } ?? interfaces
                publicNames[name.name] = records(chosen)
            }
            if let privateName = endpoint.privateDnsName {
                privateZones[endpoint.vpc.index, default: []].append(Zone(name: privateName, records: [privateName: records(interfaces)]))
            }
        }
        for balancer in topology.loadBalancers where balancer.kind == .network {
            var records = Records()
            records.ipv4 = balancer.nodes.compactMap { topology[$0.interface].ipv4 }
            records.ipv6 = balancer.nodes.compactMap { topology[$0.interface].ipv6 }
            publicNames[balancer.dnsName] = records
        }
    }

    /// The answer to `name` of `type`, asked from inside `vpc` (nil: from outside every VPC).
    /// Aliases are followed (at most 8 deep).
    public func resolve(_ name: String, type: DNSRecordType, from vpc: Int?) -> DNSAnswer {
        var current = DNSView.normalized(name)
        for _ in 0..<8 {
            let answer = lookup(current, type: type, from: vpc)
            guard case .alias(let next) = answer, type != .cname else { return answer }
            current = next
        }
        return .nxdomain
    }

    private func lookup(_ name: String, type: DNSRecordType, from vpc: Int?) -> DNSAnswer {
        if let vpc, resolving.contains(vpc), let zone = DNSView.mostSpecific(privateZones[vpc] ?? [], containing: name) {
            return zone.records[name]?.answer(type) ?? .nxdomain
        }
        if let records = publicNames[name] { return records.answer(type) }
        if let zone = DNSView.mostSpecific(publicZones, containing: name) {
            return zone.records[name]?.answer(type) ?? .nxdomain
        }
        return .nxdomain
    }

    private static func mostSpecific(_ zones: [Zone], containing name: String) -> Zone? {
        zones.filter { name == $0.name || name.hasSuffix("." + $0.name) }.max { $0.name.count < $1.name.count }
    }

    static func normalized(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }
}
