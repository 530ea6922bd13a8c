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
