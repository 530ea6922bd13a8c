extension Dataplane {
    /// How many packets apart the steps of the lookup's pipeline run: the memory a step asks for
    /// arrives while the packets between are worked on.
    static let lookAhead = 4

    /// Stage 2: each packet of a flow looked up in the flow table, as a three-step pipeline over
    /// the batch (VPP's and DPDK's way with hash tables): the primary bucket of the packet
    /// 2 × `lookAhead` places on is asked for; the sessions the bucket of the packet `lookAhead`
    /// on points to (it has arrived by then); and this packet's lookup, which then finds its
    /// bucket and session in cache, and leaves the session there for the fast path.
    func lookUp() {
        let count = batch.count
        flows.startLookups()
        let far = 2 * Dataplane.lookAhead, near = Dataplane.lookAhead
        for index in 0..<min(far, count) where contexts[index].looksUpAFlow { flows.prefetchBucket(contexts[index].hash) }
        for index in 0..<min(near, count) where contexts[index].looksUpAFlow { flows.prefetchSessions(contexts[index].hash) }
        // Packets of no session will start one each, most of them: the sessions they will take.
        var misses = 0
        for index in 0..<count {
            if index + far < count && contexts[index + far].looksUpAFlow { flows.prefetchBucket(contexts[index + far].hash) }
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
