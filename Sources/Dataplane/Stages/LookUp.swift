extension Dataplane {
    /// How many packets ahead of its lookup a packet's sessions are asked for: the memory arrives
    /// while the packets between are looked up.
    static let lookAhead = 8

    /// Stage 2: each packet of a flow looked up in the flow table, as a pipeline over the batch
    /// (VPP's and DPDK's way with hash tables). Classify asked for every packet's primary bucket
    /// as it hashed it, a batch's work before it is read here; here the sessions the bucket of
    /// the packet `lookAhead` places on points to are asked for, and this packet's lookup then
    /// finds its bucket and session in cache, and leaves the session there for the fast path.
    func lookUp() {
        let count = batch.count
        flows.startLookups()
        let near = Dataplane.lookAhead
        for index in 0..<min(near, count) where contexts[index].looksUpAFlow { flows.prefetchSessions(contexts[index].hash) }
        // Packets of no session will start one each, most of them: the sessions they will take.
        var misses = 0
        for index in 0..<count {
            if index + near < count && contexts[index + near].looksUpAFlow { flows.prefetchSessions(contexts[index + near].hash) }
            let c = contexts + index
            guard c.pointee.step == .flow else { continue }
            if let (session, direction) = flows.lookup(c.pointee.packet.key, hash: c.pointee.hash) {
                c.pointee.session = session
                c.pointee.direction = direction
                c.pointee.step = .established
            } else {
                c.pointee.step = .newFlow
                flows.prefetchUpcomingSession(misses)
                misses += 1
            }
        }
    }
}
