/// The state of an endpoint's connection to its service, as AWS reports it
/// (docs/aws-behaviour.md §4; the API's lowercase camelCase spelling).
public enum ConnectionState: String, Sendable, CaseIterable {
    case pendingAcceptance, pending, available, rejected, expired, failed, deleting, deleted

    /// What moves an endpoint from one state to another.
    public enum Event: String, Sendable, CaseIterable {
        /// The provider accepts a pending request.
        case accept
        /// The provider rejects a request, or an endpoint that is already available.
        case reject
        /// Provisioning finished.
        case provisioned
        /// The consumer modified the endpoint (subnets, security groups...).
        case modify
        /// A request nobody decided on lapsed.
        case expire
        case fail
        case delete
        /// Deletion finished.
        case deleted
    }

    /// The first state of a new endpoint: `pendingAcceptance` when the service wants manual
    /// acceptance, else `pending`.
    public static func initial(acceptanceRequired: Bool) -> ConnectionState {
        acceptanceRequired ? .pendingAcceptance : .pending
    }

    /// The state after `event`, or nil when the event cannot happen in this state.
    public func after(_ event: Event) -> ConnectionState? {
        switch (self, event) {
        case (.pendingAcceptance, .accept): return .pending
        case (.pendingAcceptance, .reject), (.pending, .reject), (.available, .reject): return .rejected
        case (.pendingAcceptance, .expire): return .expired
        case (.pending, .provisioned): return .available
        case (.available, .modify): return .pending
        case (.pending, .fail): return .failed
        case (.deleted, _), (.deleting, .delete): return nil
        case (_, .delete): return .deleting
        case (.deleting, .deleted): return .deleted
        default: return nil
        }
    }

    /// Only an available endpoint carries traffic.
    public var carriesTraffic: Bool { self == .available }

    /// The state a topology file's decision leads to, following the transitions from creation.
    public static func settled(acceptanceRequired: Bool, decision: String?) -> ConnectionState {
        var state = initial(acceptanceRequired: acceptanceRequired)
        switch decision {
        case "accepted":
            if state == .pendingAcceptance { state = state.after(.accept) ?? state }
            state = state.after(.provisioned) ?? state
        case "rejected":
            state = state.after(.reject) ?? state
        default:
            // Undecided: a service without acceptance provisions it; one with it waits.
            if state == .pending { state = state.after(.provisioned) ?? state }
        }
        return state
    }
}
