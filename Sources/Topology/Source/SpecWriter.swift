// A spec written back as a topology file: what `privet status --yaml` saves of a running
// topology whose AWS API changed it, so that it can be brought up again. Block style, every
// string double-quoted (YAML 1.2 §7.3.1), fields named as the parser reads them; what the file
// left out stays out, so defaults stay defaults.

/// One YAML value of the file's shapes.
indirect enum YAMLValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case strings([String])
    case mapping([(String, YAMLValue?)])
    case mappings([[(String, YAMLValue?)]])
    /// A flow mapping of the file's own keys, each quoted (tags).
    case pairs([(String, String)])

    static func tags(_ tags: [TagSpec]) -> YAMLValue? { tags.isEmpty ? nil : .pairs(tags.map { ($0.key.value, $0.value.value) }) }

    static func string(_ value: Located<String>?) -> YAMLValue? { value.map { .string($0.value) } }
    static func int(_ value: Located<Int>?) -> YAMLValue? { value.map { .int($0.value) } }
    static func bool(_ value: Located<Bool>?) -> YAMLValue? { value.map { .bool($0.value) } }
    static func strings(_ values: [Located<String>]) -> YAMLValue? { values.isEmpty ? nil : .strings(values.map(\.value)) }
    /// A list of mappings; none at all when empty.
    static func items(_ values: [[(String, YAMLValue?)]]) -> YAMLValue? { values.isEmpty ? nil : .mappings(values) }
}

extension TopologySpec {
    /// The spec as a topology file.
    public var yaml: String { yaml(header: ["Written by privet from a running topology; `privet up` reads it as any topology file."]) }

    /// The spec as a topology file behind `header`'s lines, as comments.
    public func yaml(header: [String]) -> String {
        var lines: [String] = header.map { "# " + $0 }
        func emit(_ key: String, _ value: YAMLValue?, indent: String) {
            guard let value else { return }
            switch value {
            case .string(let text): lines.append("\(indent)\(key): \(Self.quoted(text))")
            case .int(let number): lines.append("\(indent)\(key): \(number)")
            case .bool(let flag): lines.append("\(indent)\(key): \(flag)")
            case .strings(let texts): lines.append("\(indent)\(key): [" + texts.map(Self.quoted).joined(separator: ", ") + "]")
            case .pairs(let pairs):
                lines.append("\(indent)\(key): {" + pairs.map { Self.quoted($0.0) + ": " + Self.quoted($0.1) }.joined(separator: ", ") + "}")
            case .mapping(let fields):
                lines.append("\(indent)\(key):")
                for (name, field) in fields { emit(name, field, indent: indent + "  ") }
            case .mappings(let items):
                lines.append("\(indent)\(key):")
                for fields in items {
                    let present = fields.filter { $0.1 != nil }
                    guard let first = present.first else { continue }
                    let start = lines.count
                    emit(first.0, first.1, indent: indent + "    ")
                    lines[start] = indent + "  - " + lines[start].dropFirst(indent.count + 4)
                    for (name, field) in present.dropFirst() { emit(name, field, indent: indent + "    ") }
                }
            }
        }
        emit("region", .string(region), indent: "")
        emit("zones", .items(zones.map { [("name", .string($0.name)), ("id", .string($0.id))] }), indent: "")
        emit("accounts", .items(accounts.map { [("name", .string($0.name)), ("id", .string($0.id))] }), indent: "")
        emit("vpcs", .items(vpcs.map { vpc in
            [("name", .string(vpc.name)), ("id", .string(vpc.id)), ("account", .string(vpc.account)), ("cidr", .string(vpc.cidr)),
             ("ipv6Cidr", .string(vpc.ipv6Cidr)), ("enableDnsSupport", vpc.enableDnsSupport ? nil : .bool(false)),
             ("enableDnsHostnames", vpc.enableDnsHostnames ? nil : .bool(false)), ("tags", .tags(vpc.tags)),
             ("internetGateway", vpc.internetGateway.map { gateway in
                 gateway.id == nil && gateway.edgeRouteTable == nil ? .bool(true)
                     : .mapping([("id", .string(gateway.id)), ("edgeRouteTable", .string(gateway.edgeRouteTable))])
             })]
        }), indent: "")
        emit("subnets", .items(subnets.map { subnet in
            [("name", .string(subnet.name)), ("id", .string(subnet.id)), ("vpc", .string(subnet.vpc)), ("zone", .string(subnet.zone)),
             ("cidr", .string(subnet.cidr)), ("ipv6Cidr", .string(subnet.ipv6Cidr)), ("routeTable", .string(subnet.routeTable)),
             ("tags", .tags(subnet.tags))]
        }), indent: "")
        emit("routeTables", .items(routeTables.map { table in
            [("name", .string(table.name)), ("id", .string(table.id)), ("vpc", .string(table.vpc)), ("tags", .tags(table.tags)),
             ("routes", .items(table.routes.map { [("destination", .string($0.destination)), ("target", .string($0.target))] }))]
        }), indent: "")
        emit("prefixLists", .items(prefixLists.map { list in
            [("id", .string(list.id)), ("name", .string(list.name)), ("cidrs", .strings(list.cidrs.map(\.value)))]
        }), indent: "")
        func rule(_ rule: RuleSpec) -> [(String, YAMLValue?)] {
            [("protocol", .string(rule.protocolName)), ("ports", .string(rule.ports)), ("cidr", .string(rule.cidr)),
             ("securityGroup", .string(rule.securityGroup)), ("prefixList", .string(rule.prefixList))]
        }
        emit("securityGroups", .items(securityGroups.map { group in
            [("name", .string(group.name)), ("id", .string(group.id)), ("vpc", .string(group.vpc)), ("tags", .tags(group.tags)),
             ("ingress", .items(group.ingress.map(rule))), ("egress", group.egress.map { $0.isEmpty ? .strings([]) : .mappings($0.map(rule)) })]
        }), indent: "")
        emit("hosts", .items(hosts.map { host in
            [("name", .string(host.name)), ("id", .string(host.id)), ("subnet", .string(host.subnet)), ("network", .string(host.network)),
             ("addresses", .strings(host.addresses)), ("securityGroups", .strings(host.securityGroups)),
             ("sourceDestCheck", host.sourceDestCheck ? nil : .bool(false)),
             ("server", host.server.map { server in
                 .mapping([("protocol", .string(server.kind)), ("port", .int(server.port)), ("drop", .strings(server.drop)),
                           ("count", .strings(server.count))])
             })]
        }), indent: "")
        emit("loadBalancers", .items(loadBalancers.map { balancer in
            [("name", .string(balancer.name)), ("type", .string(balancer.type)), ("subnets", .strings(balancer.subnets.map(\.value))),
             ("crossZone", .bool(balancer.crossZone)), ("ipAddressType", .string(balancer.ipAddressType)),
             ("securityGroups", .strings(balancer.securityGroups)),
             ("listeners", .items(balancer.listeners.map { listener in
                 [("protocol", .string(listener.protocolName)), ("port", .int(listener.port)),
                  ("targetGroup", .string(listener.targetGroup)), ("idleTimeout", .int(listener.idleTimeout)),
                  ("sendTcpResetOnIdleTimeout", .bool(listener.sendTcpResetOnIdleTimeout))]
             }))]
        }), indent: "")
        emit("targetGroups", .items(targetGroups.map { group in
            [("name", .string(group.name)), ("protocol", .string(group.protocolName)), ("port", .int(group.port)),
             // An empty list stays written: a group whose targets were all deregistered.
             ("targets", .items(group.targets.map { [("host", .string($0.host)), ("port", .int($0.port))] }) ?? .strings([])),
             ("healthCheck", group.healthCheck.map { check in
                 .mapping([("protocol", .string(check.protocolName)), ("port", .string(check.port)), ("path", .string(check.path)),
                           ("interval", .int(check.interval)), ("timeout", .int(check.timeout)),
                           ("healthyThreshold", .int(check.healthyThreshold)), ("unhealthyThreshold", .int(check.unhealthyThreshold))])
             }),
             ("deregistrationDelay", .int(group.deregistrationDelay)), ("connectionTermination", .bool(group.connectionTermination)),
             ("crossZone", .string(group.crossZone)), ("stickiness", group.stickiness.map { .string($0.value.rawValue) }),
             ("targetFailover", group.targetFailover.map { .string($0.value.rawValue) }),
             ("proxyProtocolV2", .bool(group.proxyProtocolV2)), ("ipAddressType", .string(group.ipAddressType)),
             ("targetType", .string(group.targetType)), ("preserveClientIp", .bool(group.preserveClientIp))]
        }), indent: "")
        emit("endpointServices", .items(endpointServices.map { service in
            [("name", .string(service.name)), ("id", .string(service.id)), ("account", .string(service.account)),
             ("loadBalancers", .strings(service.loadBalancers.map(\.value))), ("acceptanceRequired", .bool(service.acceptanceRequired)),
             ("allowedPrincipals", .strings(service.allowedPrincipals)), ("privateDnsName", .string(service.privateDnsName)),
             ("privateDnsNameVerification", .string(service.privateDnsNameVerification)),
             ("supportedIpAddressTypes", .strings(service.supportedIpAddressTypes)), ("supportedRegions", .strings(service.supportedRegions)),
             ("tags", .tags(service.tags))]
        }), indent: "")
        emit("endpoints", .items(endpoints.map { endpoint in
            [("name", .string(endpoint.name)), ("id", .string(endpoint.id)), ("type", .string(endpoint.type)), ("vpc", .string(endpoint.vpc)),
             ("service", .string(endpoint.service)), ("serviceName", .string(endpoint.serviceName)),
             ("subnets", .items(endpoint.subnets.map { [("subnet", .string($0.subnet)), ("ipv4", .string($0.ipv4)), ("ipv6", .string($0.ipv6))] })),
             ("securityGroups", .strings(endpoint.securityGroups)), ("privateDnsEnabled", .bool(endpoint.privateDnsEnabled)),
             ("ipAddressType", .string(endpoint.ipAddressType)), ("dnsRecordIpType", .string(endpoint.dnsRecordIpType)),
             ("principal", .string(endpoint.principal)), ("decision", .string(endpoint.decision)),
             ("routeTables", .strings(endpoint.routeTables)), ("tags", .tags(endpoint.tags))]
        }), indent: "")
        emit("hostedZones", .items(hostedZones.map { zone in
            [("name", .string(zone.name)), ("private", zone.isPrivate ? .bool(true) : nil), ("vpcs", .strings(zone.vpcs)),
             ("records", .items(zone.records.map { record in
                 [("name", .string(record.name)), ("type", .string(record.type)), ("ttl", .int(record.ttl)),
                  ("values", .strings(record.values.map(\.value)))]
             }))]
        }), indent: "")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar: backslash, quote and control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(scalar.value, radix: 16).leftPadded(2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    /// Zeros in front, up to `width` characters (hex digits of IDs).
    public func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
