import Topology

// (No Foundation here: its Host would shadow the topology's.)
extension Host.Server {
    /// The `privet` command line that runs this server in a host's namespace (`privet up`): a
    /// built-in server, or the reference appliance with its health port and rules.
    func privetArguments(identity: String) -> [String] {
        guard kind == .appliance else { return ["serve", kind.rawValue, "--port", String(port), "--identity", identity] }
        var arguments = ["appliance", "--health-port", String(port)]
        for rule in drops { arguments += ["--drop", rule.description] }
        for rule in counts { arguments += ["--count", rule.description] }
        return arguments
    }

    /// The TCP port it listens on once it has started (every kind but UDP echo; the appliance's
    /// health port), which `up` waits on.
    var listeningPort: UInt16? { kind == .udpEcho ? nil : port }
}
