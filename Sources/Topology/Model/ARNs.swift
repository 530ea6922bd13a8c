// Amazon Resource Names of the resources the ELBv2 API names by ARN, made as AWS makes them
// (`arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/net/NAME/ID`), the ID from the name
// as every other ID here is.

extension Topology {
    public func arn(of balancer: Ref<LoadBalancer>) -> String {
        let balancer = self[balancer]
        let kind = balancer.kind == .network ? "net" : "gwy"
        return "arn:aws:elasticloadbalancing:\(region):\(self[balancer.vpc].accountID):loadbalancer/\(kind)/\(balancer.name)/"
            + Names.hex(Names.stableHash("elb", balancer.name), digits: 16)
    }

    public func arn(of group: Ref<TargetGroup>) -> String {
        let group = self[group]
        let account = group.vpc.map { self[$0].accountID } ?? accounts.first?.id ?? "000000000000"
        return "arn:aws:elasticloadbalancing:\(region):\(account):targetgroup/\(group.name)/"
            + Names.hex(Names.stableHash("target group", group.name), digits: 16)
    }

    /// The load balancers whose listeners forward to `group`.
    public func loadBalancers(of group: Ref<TargetGroup>) -> [Ref<LoadBalancer>] {
        loadBalancers.indices.filter { loadBalancers[$0].listeners.contains { $0.targetGroup == group } }.map(Ref.init)
    }

    /// The hosted zone of the region's endpoint DNS names (one per region, as AWS has it):
    /// `Z` and 13 characters made from the region's name, as other IDs are.
    public var endpointHostedZoneID: String { "Z" + Names.base36(Names.stableHash("hosted zone", region), count: 13).uppercased() }
}
