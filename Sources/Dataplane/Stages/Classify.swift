import PacketWire

extension Dataplane {
    /// Stage 1: every packet's headers read once (ParsedPacket), what a router would not forward
    /// dropped with its reason, ICMP errors and returns from appliances told apart, and every
    /// other packet's flow hashed for the lookup, and its bucket asked for.
    func classify() {
        for index in 0..<batch.count {
            let c = contexts + index
            c.pointee.index = index
            c.pointee.now = batch.times[index]
            let ingress = batch.ingressPorts[index]
            c.pointee.ingress = ingress
            c.pointee.step = .decided
            c.pointee.refusedAsAnotherFlow = false
            guard isPort(ingress) else {
                batch.verdicts[index] = .dropped(.unknownPort)
                continue
            }
            count.received(port: ingress, bytes: batch.lengths[index])
            do {
                c.pointee.packet = try ParsedPacket(batch.bytes(index))
            } catch {
                batch.verdicts[index] = .dropped(error)
                continue
            }
            let key = c.pointee.packet.key
            if c.pointee.packet.isICMPError {
                c.pointee.step = .icmpError
            } else if key.proto == IPProtocol.udp.rawValue && key.destinationPort == GENEVEHeader.udpPort && key.isIPv4
                        && tables.isGatewayNode(key.destinationIPv4.value) {
                // GENEVE to a GWLB node comes back from an appliance: its inner packet names the
                // flow, hashed here so that the lookup stage fetches that flow's memory ahead.
                // `fromAppliance` reads the headers again: some 20 ns, against a miss to memory
                // of 100 or more that the early fetch saves.
                c.pointee.step = .fromAppliance
                c.pointee.hash = innerFlowHash(c.pointee.packet) ?? 0
            } else {
                c.pointee.hash = key.hash(seed: configuration.seed)
                c.pointee.step = .flow
            }
            // Read by the lookup stage, after the rest of the batch is classified.
            if c.pointee.looksUpAFlow { flows.prefetchBucket(c.pointee.hash) }
        }
    }
}
