import PacketWire

// Security groups (stateful): a new flow must pass the egress rules of the sending ENI and the
// ingress rules of the receiving ENI; replies of a tracked flow pass without a check. A group is
// a set of allow rules; a packet passes if any rule of any of the ENI's groups allows it.

extension ForwardingTables {
    /// Whether the ENI's groups let the flow out (egress: `peer` is the destination) or in
    /// (ingress: `peer` is the source). `peerInterface` is the ENI at the other end, if it is one
    /// of ours (for rules that name a security group).
    func allows(_ interface: Int, ingress: Bool, proto: IPProtocol, port: UInt16, peer: FlowAddress, peerInterface: Int?) -> Bool {
        // Index loops: iterating arrays allocates when the iterator runs unspecialised (debug).
        let groups = interfaces[interface].securityGroups
        for groupIndex in 0..<groups.count {
            let rules = ingress ? securityGroups[groups[groupIndex]].ingress : securityGroups[groups[groupIndex]].egress
            for ruleIndex in 0..<rules.count
            where matches(rules[ruleIndex], proto: proto, port: port, peer: peer, peerInterface: peerInterface) {
                return true
            }
        }
        return false
    }

    /// Whether a new flow between two of the tables' ENIs passes the security groups of ENI
    /// `interface`: its ingress rules for a flow from `peer`, its egress rules for one to `peer`,
    /// by `peer`'s address of the family `ipv6` says (false when it has none). The packet path's
    /// own rules, for `validate` to ask of a topology before any packet is sent.
    public func admits(_ interface: Int, ingress: Bool, peer: Int, proto: IPProtocol, port: UInt16, ipv6: Bool) -> Bool {
        let address: FlowAddress
        if ipv6 {
            guard let value = interfaces[peer].ipv6 else { return false }
            address = FlowAddress(value)
        } else {
            guard let value = interfaces[peer].ipv4 else { return false }
            address = FlowAddress(value)
        }
        return allows(interface, ingress: ingress, proto: proto, port: port, peer: address, peerInterface: peer)
    }

    private func matches(_ rule: SecurityGroup.Rule, proto: IPProtocol, port: UInt16, peer: FlowAddress, peerInterface: Int?) -> Bool {
        if let ruleProtocol = rule.proto {
            guard ruleProtocol == proto else { return false }
            if proto == .tcp || proto == .udp, port < rule.ports.lowerBound || port > rule.ports.upperBound { return false }
        }
        switch rule.peer {
        case .ipv4(let prefix):
            return peer.isIPv4 && prefix.contains(peer.ipv4)
        case .ipv6(let prefix):
            return !peer.isIPv4 && prefix.contains(peer.ipv6)
        case .securityGroup(let group):
            guard let peerInterface else { return false }
            // Plain loops: generic algorithms allocate when unspecialised (debug builds).
            let groups = interfaces[peerInterface].securityGroups
            for index in 0..<groups.count where groups[index] == group { return true }
            return false
        case .prefixList(let cidrs):
            guard peer.isIPv4 else { return false }
            for index in 0..<cidrs.count where cidrs[index].contains(peer.ipv4) { return true }
            return false
        }
    }
}
