extension Dataplane {
    /// Stage 3: every packet decided, in the order it arrived: an earlier packet of the batch may
    /// start the flow a later one belongs to, or end it, so a lookup the table has changed under
    /// since (a hit after a removal, a miss after an insertion) is made again first.
    func decide() {
        for index in 0..<batch.count {
            let c = contexts + index
            let verdict: Verdict
            switch c.pointee.step {
            case .decided:
                verdict = batch.verdicts[index]
            case .flow, .established, .newFlow:
                verdict = flow(&c.pointee)
            case .icmpError:
                verdict = icmpError(&c.pointee)
            case .fromAppliance:
                verdict = fromAppliance(&c.pointee)
            }
            batch.verdicts[index] = finish(verdict, c)
        }
    }

    /// A packet of some flow: the fast path when its session holds, a new flow otherwise.
    @inline(__always)
    private func flow(_ c: inout PacketContext) -> Verdict {
        if flows.changedSinceLookups(c.hash) {
            if let (session, direction) = flows.lookup(c.packet.key, hash: c.hash) {
                c.session = session
                c.direction = direction
                c.step = .established
            } else {
                c.step = .newFlow
            }
        }
        if c.step == .established {
            if !isExpired(flows.sessions + c.session, now: c.now) { return established(&c) }
            // Idle past its timeout (or half-open past the handshake window): the flow is gone,
            // and this packet is judged as a new one (a non-SYN segment to an endpoint or NLB
            // gets a RST, docs/aws-behaviour.md §1; to a GWLB it is dropped, §6).
            endSession(c.session, now: c.now, reason: .expired)
        }
        return newFlow(&c)
    }

    /// Counts the verdict, notes the flow a refusing ENI saw, and names the outside host a
    /// packet to an outside network reaches.
    @inline(__always)
    private func finish(_ verdict: Verdict, _ c: UnsafeMutablePointer<PacketContext>) -> Verdict {
        let index = c.pointee.index
        guard let port = verdict.port else {
            if let reason = verdict.dropReason {
                count.dropped(reason)
                if verdict.interface != nil && !c.pointee.refusedAsAnotherFlow { batch.refusedFlows[index] = c.pointee.packet.key }
            }
            return verdict
        }
        count.sent(port: port, bytes: batch.lengths[index])
        guard verdict.action == .forwarded || verdict.action == .decapsulated, tables.leadsOutside[port],
              let destination = FlowAddress.destination(ofPacket: UnsafeRawBufferPointer(batch.bytes(index))),
              let host = tables.outsideHost(leaving: port, destination: destination) else { return verdict }
        return verdict.reaching(outsideHost: host)
    }
}
