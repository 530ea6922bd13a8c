import PacketWire

extension Dataplane {
    /// The fast path: a packet of a session. Through an endpoint or an NLB, the endpoint's limits
    /// and the target's health first, then the translation; through a GWLB endpoint, into the
    /// tunnel; every packet tracked and counted, out of the port of its direction.
    @inline(__always)
    func established(_ c: inout PacketContext) -> Verdict {
        let session = flows.sessions + c.session
        let bytes = batch.lengths[c.index]
        switch session.pointee.kind {
        case .gatewayLoadBalancer:
            return toAppliance(&c, session: session)
        case .endpoint, .loadBalancer:
            let endpoint = session.pointee.endpoint.index
            if session.pointee.kind == .endpoint {
                if c.direction == .forward && batch.wireLength(c.index, ipLength: c.packet.length) > configuration.endpointMTU {
                    return .dropped(.endpointOversize, at: session.pointee.endpointInterface.index)
                }
                // A provider may reject an endpoint that is already available: its flows stop.
                if let endpoint, !endpointAvailable[endpoint] {
                    return .dropped(Dataplane.dropReason(for: endpointStates[endpoint]), at: session.pointee.endpointInterface.index)
                }
            }
            // A session whose target was deregistered by a reload has none and keeps going.
            let target = session.pointee.target.index
            if let target, unhealthyPolicy[target] == .reset {
                // The NLB resets connections tied to an unhealthy target (docs/aws-behaviour.md
                // §2).
                endSession(c.session, now: c.now, reason: .terminated)
                return reset(&c, cause: .unhealthyTarget)
            }
            if let refusal = translate(&c, session: session) { return .dropped(refusal) }
            if let target, let node = session.pointee.node.index {
                count.balanced(endpoint: endpoint, node: node, target: target, bytes: bytes, newFlow: false)
            }
        case .plain:
            break
        }
        track(session, packet: c.packet, direction: c.direction, bytes: bytes, now: c.now)
        return leave(session, c.direction)
    }

    /// The verdict of a packet that leaves by its session's port in `direction`: to the health
    /// checker when that is where it goes (a target's answer to a probe).
    @inline(__always)
    func leave(_ session: UnsafeMutablePointer<Session>, _ direction: FlowDirection) -> Verdict {
        let port = Int(direction == .forward ? session.pointee.forwardPort : session.pointee.reversePort)
        return port == tables.healthCheckPort ? .toHealthChecker(port) : .forwarded(port)
    }

    /// TCP state, idle time and the flow's counts; a closed TCP flow lingers only a little.
    @inline(__always)
    func track(_ session: UnsafeMutablePointer<Session>, packet: ParsedPacket, direction: FlowDirection, bytes: Int,
               now: Int64) {
        if packet.isTCP {
            let state = session.pointee.tcpState.after(packet.tcpFlags, direction: direction)
            if state == .closed && session.pointee.tcpState != .closed { queueClosing(session - flows.sessions, now: now) }
            session.pointee.tcpState = state
        } else if direction == .reverse && packet.key.proto == IPProtocol.udp.rawValue && session.pointee.kind == .plain {
            // A reply makes a UDP flow a stream, tracked longer (EC2 connection tracking).
            session.pointee.idleTimeout = configuration.trackedUDPStreamTimeout
        }
        if now &- session.pointee.intervalStart >= configuration.flowLogInterval {
            flowRecords.record(session.pointee, tables: tables, end: session.pointee.lastSeen)
            session.pointee.packets = (0, 0)
            session.pointee.bytes = (0, 0)
            session.pointee.tcpFlagsSeen = 0
            session.pointee.intervalStart = now
        }
        session.pointee.lastSeen = now
        session.pointee.tcpFlagsSeen |= FlowLogTCPFlags.bits(packet.tcpFlags) << (direction.rawValue &* 4)
        if direction == .forward {
            session.pointee.packets.forward &+= 1
            session.pointee.bytes.forward &+= UInt64(bytes)
        } else {
            session.pointee.packets.reverse &+= 1
            session.pointee.bytes.reverse &+= UInt64(bytes)
        }
        if session.pointee.tcpState == .closed && session.pointee.idleTimeout > configuration.closedLinger {
            session.pointee.idleTimeout = configuration.closedLinger
        }
    }
}
