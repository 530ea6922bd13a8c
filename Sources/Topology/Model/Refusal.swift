import Dataplane

// Who refused a dropped packet, in the words a network engineer looks for in the console: the
// security groups of the ENI whose rules had no rule for it, the route table with no route, the
// endpoint whose state stopped it. The dataplane's verdict names the ENI and the route table by
// index; the model names them by ID and name.

extension Topology {
    /// The rule set that refused a dropped packet, or nil when no rule set did (a malformed
    /// packet, a full table): "security group sg-… (web) of host 'web-a'", "route table rtb-…
    /// (consumer-app)", "endpoint vpce-… (api) of ENI eni-…".
    public func refuser(of verdict: Verdict) -> String? {
        guard let reason = verdict.dropReason else { return nil }
        if let table = verdict.routeTable, routeTables.indices.contains(table) {
            return "route table \(routeTables[table].id) (\(routeTables[table].name))"
        }
        guard let eni = verdict.interface, networkInterfaces.indices.contains(eni) else { return nil }
        let interface = networkInterfaces[eni]
        switch reason {
        case .securityGroupIngress, .securityGroupEgress:
            let groups = interface.securityGroups.map { "\(self[$0].id) (\(self[$0].name))" }
            let noun = groups.count == 1 ? "security group" : "security groups"
            return "\(noun) \(groups.joined(separator: ", ")) of \(owner(of: eni))"
        case .endpointPendingAcceptance, .endpointPending, .endpointRejected, .endpointExpired, .endpointFailed,
             .endpointDeleting, .endpointDeleted, .endpointNotTCP, .endpointOversize:
            guard case .endpoint(let endpoint) = interface.owner else { return owner(of: eni) }
            return "endpoint \(self[endpoint].id) (\(self[endpoint].name)) of ENI \(interface.id)"
        default:
            return owner(of: eni)
        }
    }

    /// What an ENI belongs to: "host 'web-a'", "endpoint 'api'", "load balancer 'nlb' in
    /// us-east-1a".
    public func owner(of eni: Int) -> String {
        let interface = networkInterfaces[eni]
        switch interface.owner {
        case .host(let host): return "host '\(self[host].name)'"
        case .endpoint(let endpoint): return "endpoint '\(self[endpoint].name)'"
        case .loadBalancer(let balancer):
            return "load balancer '\(self[balancer].name)' in \(zones[subnets[interface.subnet.index].zone.index].name)"
        }
    }

    /// The instance an ENI belongs to: its host's, when a host owns it.
    public func instanceID(of eni: Int) -> String? {
        guard case .host(let host) = networkInterfaces[eni].owner else { return nil }
        return self[host].instanceID
    }
}
