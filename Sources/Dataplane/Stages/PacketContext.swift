import PacketWire

/// One packet's way through the stages of a batch: each stage reads what the last one wrote and
/// writes the next step. One per slot of the batch, in storage the dataplane allocates once.
struct PacketContext {
    /// What the next stage does with the packet.
    enum Step: UInt8 {
        /// Its verdict is written (a drop found while classifying).
        case decided
        /// A packet of some flow: looked up in the flow table.
        case flow
        /// An ICMP error: the flow it is about is named in its quote (ICMPErrors.swift).
        case icmpError
        /// GENEVE to a GWLB node: an appliance returning a packet (GatewayTunnel.swift).
        case fromAppliance
        /// Looked up, and found: the fast path.
        case established
        /// Looked up, and not found: a new flow.
        case newFlow
    }

    var step: Step = .decided

    /// Whether the lookup stage fetches the memory of its flow ahead: a packet of a flow, or an
    /// appliance's return whose inner flow was hashed.
    var looksUpAFlow: Bool { step == .flow || (step == .fromAppliance && hash != 0) }
    /// The slot of the batch.
    var index = 0
    /// The port it came in by.
    var ingress = 0
    /// When it arrived, in nanoseconds of the caller's clock.
    var now: Int64 = 0
    /// The packet's headers, read once (valid unless the step is `decided`).
    var packet = ParsedPacket.empty
    /// The flow-table hash of its key.
    var hash: UInt64 = 0
    /// The session it belongs to and which of its keys it matched (step `established`).
    var session = 0
    var direction = FlowDirection.forward
    /// Set when a stage dropped the packet at an ENI that saw another flow than the packet's own
    /// and wrote that flow to the batch's `refusedFlows` itself.
    var refusedAsAnotherFlow = false
}
