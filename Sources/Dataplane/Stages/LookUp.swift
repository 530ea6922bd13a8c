extension Dataplane {
    /// How many packets ahead the lookup asks for flow-table buckets: enough for a bucket to
    /// arrive from memory while the packets before it are looked up.
    static let lookAhead = 8

    /// Stage 2: each packet of a flow looked up in the flow table. The buckets of the packet
    /// `lookAhead` places on are asked for first, and the session a lookup finds, so that the
    /// decide stage finds it in cache.
    func lookUp() {
        let count = batch.count
        for index in 0..<min(Dataplane.lookAhead, count) where contexts[index].step == .flow {
            flows.prefetchBuckets(contexts[index].hash)
        }
        for index in 0..<count {
            let ahead = index + Dataplane.lookAhead
            if ahead < count && contexts[ahead].step == .flow { flows.prefetchBuckets(contexts[ahead].hash) }
            let c = contexts + index
            guard c.pointee.step == .flow else { continue }
            if let (session, direction) = flows.lookup(c.pointee.packet.key, hash: c.pointee.hash) {
                flows.prefetchSession(session)
                c.pointee.session = session
                c.pointee.direction = direction
                c.pointee.step = .established
            } else {
                c.pointee.step = .newFlow
            }
        }
        lookedUpAt = (flows.insertions, flows.removals)
    }
}
