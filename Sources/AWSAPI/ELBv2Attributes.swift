import Topology

// Target group and load balancer attributes: the ones Privet models are read and written
// (as the topology file's fields); a key it does not model is refused as ELBv2 refuses an
// unknown one, never taken and ignored.

extension ELBv2Actions {
    /// A target group's attributes as ELBv2 names them.
    static func attributes(of group: TargetGroup, gateway: Bool) -> [(String, String)] {
        var attributes: [(String, String)] = [
            ("deregistration_delay.timeout_seconds", String(group.deregistrationDelay)),
            ("target_health_state.unhealthy.connection_termination.enabled", String(group.connectionTermination)),
            ("load_balancing.cross_zone.enabled", group.crossZone.rawValue),
        ]
        if gateway {
            attributes += [
                ("stickiness.enabled", String(group.stickiness != .fiveTuple)),
                ("stickiness.type", group.stickiness == .twoTuple ? "source_ip_dest_ip" : "source_ip_dest_ip_proto"),
                ("target_failover.on_deregistration", group.targetFailover.rawValue),
                ("target_failover.on_unhealthy", group.targetFailover.rawValue),
            ]
        } else {
            attributes += [
                ("proxy_protocol_v2.enabled", String(group.proxyProtocolV2)),
                ("preserve_client_ip.enabled", String(group.preserveClientIp)),
                ("stickiness.enabled", "false"),
                ("stickiness.type", "source_ip"),
            ]
        }
        return attributes
    }

    static func isGateway(_ group: Ref<TargetGroup>, _ topology: Topology) -> Bool { topology[group].protocolName == "GENEVE" }

    static func targetGroupAttributes(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let ref = try group(arn: try context.required("TargetGroupArn").get(), topology)
        let attributes = attributes(of: topology[ref], gateway: isGateway(ref, topology))
        return { xml in
            xml.list("Attributes", member: "member", attributes) { xml, attribute in
                xml.value("Key", attribute.0)
                xml.value("Value", attribute.1)
            }
        }
    }

    /// `Attributes.member.N.Key` and `.Value`.
    static func requestedAttributes(_ context: ActionContext) throws(APIError) -> [(key: String, value: String)] {
        var found: [(Int, String, String)] = []
        for (name, key) in context.request.parameters where name.hasPrefix("Attributes.member.") && name.hasSuffix(".Key") {
            let number = name.dropFirst("Attributes.member.".count).dropLast(".Key".count)
            guard let index = Int(number) else { continue }
            found.append((index, key, context.request.parameters["Attributes.member.\(number).Value"] ?? ""))
        }
        guard !found.isEmpty else { throw APIError(.validationError, "Attributes must be specified") }
        return found.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
    }

    static func flag(_ attribute: (key: String, value: String)) throws(APIError) -> Bool {
        guard let value = Bool(attribute.value) else {
            throw APIError(.validationError, "The value of attribute '\(attribute.key)' must be 'true' or 'false', not '\(attribute.value)'")
        }
        return value
    }

    static func modifyTargetGroupAttributes(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let ref = try group(arn: try context.required("TargetGroupArn").get(), context.topology)
        let name = context.topology[ref].name, gateway = isGateway(ref, context.topology)
        let requested = try requestedAttributes(context)
        let here = ActionContext.apiPosition
        try context.edit { spec, _ throws(APIError) in
            guard let index = spec.targetGroups.firstIndex(where: { $0.name.value == name }) else { return }
            var stickinessEnabled: Bool?, stickinessType: String?
            for attribute in requested {
                switch (attribute.key, gateway) {
                case ("deregistration_delay.timeout_seconds", _):
                    guard let seconds = Int(attribute.value), (0...3600).contains(seconds) else {
                        throw APIError(.validationError, "deregistration_delay.timeout_seconds must be from 0 to 3600")
                    }
                    spec.targetGroups[index].deregistrationDelay = Located(seconds, at: here)
                case ("target_health_state.unhealthy.connection_termination.enabled", false):
                    spec.targetGroups[index].connectionTermination = Located(try flag(attribute), at: here)
                case ("load_balancing.cross_zone.enabled", _):
                    guard ["true", "false", "use_load_balancer_configuration"].contains(attribute.value) else {
                        throw APIError(.validationError, "load_balancing.cross_zone.enabled must be true, false or use_load_balancer_configuration")
                    }
                    spec.targetGroups[index].crossZone = Located(attribute.value, at: here)
                case ("proxy_protocol_v2.enabled", false):
                    spec.targetGroups[index].proxyProtocolV2 = Located(try flag(attribute), at: here)
                case ("preserve_client_ip.enabled", false):
                    spec.targetGroups[index].preserveClientIp = Located(try flag(attribute), at: here)
                case ("stickiness.enabled", true):
                    stickinessEnabled = try flag(attribute)
                case ("stickiness.type", true):
                    guard ["source_ip_dest_ip_proto", "source_ip_dest_ip"].contains(attribute.value) else {
                        throw APIError(.validationError, "stickiness.type of a GENEVE target group is source_ip_dest_ip_proto or source_ip_dest_ip")
                    }
                    stickinessType = attribute.value
                case ("target_failover.on_deregistration", true), ("target_failover.on_unhealthy", true):
                    guard let failover = TargetFailover(rawValue: attribute.value) else {
                        throw APIError(.validationError, "\(attribute.key) is no_rebalance or rebalance")
                    }
                    // Privet keeps one policy for both (AWS requires them equal).
                    spec.targetGroups[index].targetFailover = Located(failover, at: here)
                case ("stickiness.enabled", false) where attribute.value == "false":
                    break
                default:
                    throw APIError(.validationError, "The attribute '\(attribute.key)' is not one Privet models for a "
                                   + (gateway ? "GENEVE" : "TCP/UDP") + " target group")
                }
            }
            if stickinessEnabled != nil || stickinessType != nil {
                let current = spec.targetGroups[index].stickiness?.value ?? .fiveTuple
                let enabled = stickinessEnabled ?? (current != .fiveTuple)
                let type = stickinessType ?? (current == .twoTuple ? "source_ip_dest_ip" : "source_ip_dest_ip_proto")
                let stickiness: GatewayStickiness = !enabled ? .fiveTuple : type == "source_ip_dest_ip" ? .twoTuple : .threeTuple
                spec.targetGroups[index].stickiness = Located(stickiness, at: here)
            }
        }
        let topology = context.topology
        return { xml in
            xml.list("Attributes", member: "member", attributes(of: topology[ref], gateway: gateway)) { xml, attribute in
                xml.value("Key", attribute.0)
                xml.value("Value", attribute.1)
            }
        }
    }

    static func loadBalancerAttributes(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let ref = try balancer(arn: try context.required("LoadBalancerArn").get(), topology)
        let attributes = [("load_balancing.cross_zone.enabled", String(topology[ref].crossZone)), ("deletion_protection.enabled", "false")]
        return { xml in
            xml.list("Attributes", member: "member", attributes) { xml, attribute in
                xml.value("Key", attribute.0)
                xml.value("Value", attribute.1)
            }
        }
    }

    static func modifyLoadBalancerAttributes(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let ref = try balancer(arn: try context.required("LoadBalancerArn").get(), context.topology)
        let name = context.topology[ref].name
        let requested = try requestedAttributes(context)
        try context.edit { spec, _ throws(APIError) in
            guard let index = spec.loadBalancers.firstIndex(where: { $0.name.value == name }) else { return }
            for attribute in requested {
                guard attribute.key == "load_balancing.cross_zone.enabled" else {
                    throw APIError(.validationError, "The attribute '\(attribute.key)' is not one Privet models for a load balancer")
                }
                spec.loadBalancers[index].crossZone = Located(try flag(attribute), at: ActionContext.apiPosition)
            }
        }
        return try loadBalancerAttributes(context)
    }
}
