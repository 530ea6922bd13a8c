/// How far a tracked TCP connection has got: enough to know when it ends. Like the NLB's own
/// table (docs/aws-behaviour.md §1), it does not keep closed, reset or half-open connections: once
/// both sides have sent FIN, or either sent RST, the session lingers briefly for the last packets
/// and goes; one whose handshake does not finish goes after the handshake window (Expiry.swift).
public enum TCPTrackState: UInt8, Sendable {
    /// Not TCP.
    case none
    /// The initiator's SYN was seen.
    case synSent
    /// The responder answered with SYN-ACK.
    case synReceived
    case established
    /// One side sent FIN.
    case finSentForward
    case finSentReverse
    /// Both sides sent FIN, or one sent RST: the session is lingering.
    case closed

    /// The state after a segment with TCP `flags` travelling in `direction`. Sessions start in
    /// `synSent` from the initiator's SYN.
    @inlinable
    public func after(_ flags: UInt16, direction: FlowDirection) -> TCPTrackState {
        let syn = flags & 0x002 != 0, ack = flags & 0x010 != 0, fin = flags & 0x001 != 0
        if flags & 0x004 != 0 { return .closed }
        let finState: TCPTrackState = direction == .forward ? .finSentForward : .finSentReverse
        switch self {
        case .none, .closed:
            return self
        case .synSent:
            if fin { return finState }
            return direction == .reverse && syn && ack ? .synReceived : self
        case .synReceived:
            if fin { return finState }
            return direction == .forward && ack && !syn ? .established : self
        case .established:
            return fin ? finState : self
        case .finSentForward:
            return fin && direction == .reverse ? .closed : self
        case .finSentReverse:
            return fin && direction == .forward ? .closed : self
        }
    }
}
