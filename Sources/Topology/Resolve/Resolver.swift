import PacketWire

/// The outcome of reading a topology file: the topology when the file has no errors, and every
/// diagnostic (errors and warnings) in file order.
public struct TopologyLoad: Sendable {
    public let topology: Topology?
    public let diagnostics: [Diagnostic]
    /// The file as read, before it was checked: what a change made at run time (the AWS API)
    /// edits and resolves again, as it would edit the file.
    public var spec: TopologySpec?

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
}

extension Topology {
    /// Reads, checks and resolves a topology from the bytes of a YAML file.
    public static func load(yaml bytes: [UInt8]) -> TopologyLoad {
        let log = DiagnosticLog()
        let document = YAMLDocument(bytes: bytes, log: log)
        guard let root = document.root else {
            if !log.hasErrors { log.error(FilePosition(line: 1, column: 1), "the file is empty; a topology needs at least 'region'") }
            return TopologyLoad(topology: nil, diagnostics: log.sorted, spec: nil)
        }
        guard let spec = SpecParser(log: log).parse(root) else {
            return TopologyLoad(topology: nil, diagnostics: log.sorted, spec: nil)
        }
        var resolver = Resolver(spec: spec, log: log)
        let topology = resolver.resolve()
        return TopologyLoad(topology: log.hasErrors ? nil : topology, diagnostics: log.sorted, spec: spec)
    }

    /// Checks and resolves a spec as `load` does the file's.
    public static func resolve(_ spec: TopologySpec) -> TopologyLoad {
        let log = DiagnosticLog()
        var resolver = Resolver(spec: spec, log: log)
        let topology = resolver.resolve()
        return TopologyLoad(topology: log.hasErrors ? nil : topology, diagnostics: log.sorted, spec: spec)
    }

    public static func load(yaml text: String) -> TopologyLoad { load(yaml: Array(text.utf8)) }
}

/// Names of one kind of resource, for looking references up (with a did-you-mean).
struct Directory {
    let kind: String
    /// Whether names must be of `nameCharacters` (IDs that have their own shape are checked
    /// where they are read).
    let checksCharacters: Bool
    private(set) var indices: [String: Int] = [:]
    private(set) var names: [String] = []

    init(kind: String, checksCharacters: Bool = true) {
        self.kind = kind
        self.checksCharacters = checksCharacters
    }

    /// The characters of a resource name: what AWS Name tags, file names, namespace names and
    /// CSV fields all bear safely.
    static func isNameCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    static let maximumNameLength = 255

    /// Reports a name that is empty, too long, or of characters other than `isNameCharacter`'s.
    static func checkName(_ name: Located<String>, kind: String, log: DiagnosticLog) {
        if name.value.isEmpty {
            log.error(name.location, "a \(kind) name cannot be empty")
        } else if let bad = name.value.unicodeScalars.first(where: { !$0.isASCII || !isNameCharacter(UInt8($0.value)) }) {
            log.error(name.location, "\(kind) name '\(name.value)' has the character '\(bad)'; names are letters, digits, '.', '_' and '-'")
        } else if name.value.utf8.count > maximumNameLength {
            log.error(name.location, "\(kind) name '\(name.value.prefix(20))...' is \(name.value.utf8.count) characters long; at most \(maximumNameLength)")
        }
    }

    /// Registers `name` at `index`; a second use of a name is an error at the second place. A
    /// name of other characters is an error too, and is registered all the same, so that its
    /// references do not also fail.
    mutating func add(_ name: Located<String>, index: Int, log: DiagnosticLog) {
        if checksCharacters { Directory.checkName(name, kind: kind, log: log) }
        if indices[name.value] != nil {
            log.error(name.location, "a \(kind) named '\(name.value)' is already defined; names must be unique")
            return
        }
        indices[name.value] = index
        names.append(name.value)
    }

    /// The index named by `reference`, or nil after reporting an unknown reference.
    func find(_ reference: Located<String>, from subject: String, log: DiagnosticLog) -> Int? {
        if let index = indices[reference.value] { return index }
        let hint = suggestion(for: reference.value, among: names).map { "; did you mean '\($0)'?" } ?? ""
        log.error(reference.location, "\(subject) refers to unknown \(kind) '\(reference.value)'\(hint)")
        return nil
    }
}

/// Turns a spec into a topology, checking everything it can and reporting to the log. When the
/// log holds errors the topology it returns is incomplete and must not be used.
struct Resolver {
    let spec: TopologySpec
    let log: DiagnosticLog
    var topology: Topology

    var zones = Directory(kind: "zone")
    var zoneIDs = Directory(kind: "zone ID", checksCharacters: false)
    var accounts = Directory(kind: "account")
    var vpcs = Directory(kind: "VPC")
    var subnets = Directory(kind: "subnet")
    var routeTables = Directory(kind: "route table")
    var prefixLists = Directory(kind: "prefix list", checksCharacters: false)
    var hosts = Directory(kind: "host")
    var loadBalancers = Directory(kind: "load balancer")
    var targetGroups = Directory(kind: "target group")
    var endpointServices = Directory(kind: "endpoint service")
    var endpoints = Directory(kind: "endpoint")
    /// Security group names are unique per VPC, as in AWS.
    var securityGroupsByVPC: [Int: Directory] = [:]
    /// Addresses claimed in each subnet, for the "taken twice" check and allocation.
    var claimedIPv4: [Int: [IPv4Address: String]] = [:]
    var claimedIPv6: [Int: [IPv6Address: String]] = [:]
    /// Subnets whose CIDR block failed a check (already reported): addresses in them are neither
    /// checked nor allocated, so that one bad block gives one error.
    var subnetsWithBadBlocks: Set<Int> = []
    /// ENIs whose addresses are allocated once every designated address is claimed.
    var pendingAllocations: [(interface: Int, ipv4: Bool, ipv6: Bool, what: String, location: FilePosition)] = []

    /// Set when a reference could not be resolved and a placeholder stands in its place: the
    /// phases after the current one would read the placeholder, so resolution stops after it
    /// (every problem of the phases run so far is reported).
    var dangling = false

    static let defaultAccountID = "123456789012"

    init(spec: TopologySpec, log: DiagnosticLog) {
        self.spec = spec
        self.log = log
        topology = Topology(region: spec.region.value, zones: [], accounts: [], vpcs: [], subnets: [], routeTables: [],
                            prefixLists: [], securityGroups: [], networkInterfaces: [], hosts: [], loadBalancers: [],
                            targetGroups: [], endpointServices: [], endpoints: [], hostedZones: [])
    }

    mutating func resolve() -> Topology {
        let phases: [(inout Resolver) -> Void] = [
            { $0.resolveRegionAndZones() }, { $0.resolveAccounts() }, { $0.resolveVPCs() }, { $0.declareRouteTables() },
            { $0.resolveSubnets() }, { $0.resolvePrefixLists() }, { $0.resolveSecurityGroups() }, { $0.declareNames() },
            { $0.resolveHosts() }, { $0.resolveLoadBalancers() }, { $0.resolveTargetGroups() },
            { $0.resolveEndpointServices() }, { $0.resolveEndpoints() }, { $0.resolveRoutes() },
            { $0.allocateAddresses() }, { $0.resolveHostedZones() }, { $0.resolveTags() },
        ]
        for phase in phases {
            phase(&self)
            if dangling { break }
        }
        // Only a topology without errors compiles: what it would carry is asked of it then.
        if !dangling && !log.hasErrors { checkReachability() }
        return topology
    }

    /// Tags, each resource's from its spec (the file's resources come first in every list, in
    /// file order), checked as EC2 checks them.
    mutating func resolveTags() {
        func tags(_ specs: [TagSpec], of subject: String) -> [Tag] {
            specs.compactMap { tag in
                if tag.key.value == "Name" {
                    log.error(tag.key.location, "the Name tag of \(subject) is its name: write 'name', not a Name tag")
                } else if tag.key.value.isEmpty || tag.key.value.count > 128 || tag.key.value.lowercased().hasPrefix("aws:") {
                    log.error(tag.key.location, "tag key '\(tag.key.value)' of \(subject) must be 1 to 128 characters, not starting with 'aws:'")
                } else if tag.value.value.count > 256 {
                    log.error(tag.value.location, "the value of tag '\(tag.key.value)' of \(subject) is over 256 characters")
                } else {
                    return Tag(key: tag.key.value, value: tag.value.value)
                }
                return nil
            }
        }
        func assign<Spec, Model>(_ specs: [Spec], _ models: inout [Model], _ kind: String, name: (Spec) -> Located<String>,
                                  from: (Spec) -> [TagSpec], to: WritableKeyPath<Model, [Tag]>) {
            for (index, spec) in specs.enumerated() where index < models.count {
                models[index][keyPath: to] = tags(from(spec), of: "\(kind) '\(name(spec).value)'")
            }
        }
        assign(spec.vpcs, &topology.vpcs, "VPC", name: \.name, from: \.tags, to: \.tags)
        assign(spec.subnets, &topology.subnets, "subnet", name: \.name, from: \.tags, to: \.tags)
        assign(spec.routeTables, &topology.routeTables, "route table", name: \.name, from: \.tags, to: \.tags)
        assign(spec.securityGroups, &topology.securityGroups, "security group", name: \.name, from: \.tags, to: \.tags)
        assign(spec.endpointServices, &topology.endpointServices, "endpoint service", name: \.name, from: \.tags, to: \.tags)
        assign(spec.endpoints, &topology.endpoints, "endpoint", name: \.name, from: \.tags, to: \.tags)
    }

    /// A stand-in for a reference that did not resolve (already reported).
    mutating func placeholder<Element>() -> Ref<Element> {
        dangling = true
        return Ref(0)
    }

    /// Names that later sections refer to before their own section is resolved.
    mutating func declareNames() {
        for (index, host) in spec.hosts.enumerated() { hosts.add(host.name, index: index, log: log) }
        for (index, balancer) in spec.loadBalancers.enumerated() { loadBalancers.add(balancer.name, index: index, log: log) }
        for (index, group) in spec.targetGroups.enumerated() { targetGroups.add(group.name, index: index, log: log) }
        for (index, service) in spec.endpointServices.enumerated() { endpointServices.add(service.name, index: index, log: log) }
        for (index, endpoint) in spec.endpoints.enumerated() { endpoints.add(endpoint.name, index: index, log: log) }
    }

    // MARK: Region, zones, accounts

    mutating func resolveRegionAndZones() {
        let region = spec.region
        if !region.value.isEmpty && !Resolver.isRegionName(region.value) {
            log.error(region.location, "'region' must be a region name like 'us-east-1', not '\(region.value)'")
        }
        if spec.zones.isEmpty { log.error(region.location, "the topology needs at least one zone under 'zones'") }
        for (index, zone) in spec.zones.enumerated() {
            zones.add(zone.name, index: index, log: log)
            zoneIDs.add(zone.id, index: index, log: log)
            if !zone.name.value.hasPrefix(region.value) || zone.name.value.count != region.value.count + 1 {
                log.error(zone.name.location, "zone '\(zone.name.value)' is not a zone of region '\(region.value)' (expected '\(region.value)' and one letter)")
            }
            if !Resolver.isZoneID(zone.id.value) {
                log.error(zone.id.location, "zone ID '\(zone.id.value)' of zone '\(zone.name.value)' must look like 'use1-az1'")
            }
            topology.zones.append(Zone(name: zone.name.value, id: zone.id.value))
        }
    }

    mutating func resolveAccounts() {
        for (index, account) in spec.accounts.enumerated() {
            accounts.add(account.name, index: index, log: log)
            if !Resolver.isAccountID(account.id.value) {
                log.error(account.id.location, "account ID '\(account.id.value)' of account '\(account.name.value)' must be 12 digits")
            }
            topology.accounts.append(Account(name: account.name.value, id: account.id.value))
        }
    }

    /// An account given by name (from `accounts`) or by 12-digit ID; the first account, or
    /// AWS's documentation account 123456789012, when none is given.
    func accountID(_ reference: Located<String>?, for subject: String) -> String {
        guard let reference else { return topology.accounts.first?.id ?? Resolver.defaultAccountID }
        if Resolver.isAccountID(reference.value) { return reference.value }
        guard let index = accounts.find(reference, from: subject, log: log) else { return Resolver.defaultAccountID }
        return topology.accounts[index].id
    }

    /// A zone by name or by AZ ID.
    func zone(_ reference: Located<String>, for subject: String) -> Ref<Zone>? {
        if let index = zoneIDs.indices[reference.value] { return Ref(index) }
        return zones.find(reference, from: subject, log: log).map(Ref.init)
    }

    /// The ID given in the file (checked for its prefix), or one derived from the name.
    func resourceID(_ given: Located<String>?, prefix: String, kind: String, name: String) -> String {
        guard let given else { return Names.resourceID(prefix, kind: kind, name: name) }
        let digits = given.value.dropFirst(prefix.count + 1)
        if !given.value.hasPrefix(prefix + "-") || digits.isEmpty || digits.count > 17
            || !digits.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
            let article = kind.first.map { "aeiou".contains($0) } == true ? "an" : "a"
            log.error(given.location, "'\(given.value)' is not \(article) \(kind) ID: expected '\(prefix)-' and up to 17 lowercase hex digits")
        }
        return given.value
    }

    static func isRegionName(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count >= 3 && parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isLowercase && $0.isLetter } }
            && !parts.last!.isEmpty && parts.last!.allSatisfy { $0.isNumber }
    }

    static func isZoneID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].hasPrefix("az"), parts[1].count > 2,
              parts[1].dropFirst(2).allSatisfy({ $0.isNumber }), !parts[0].isEmpty else { return false }
        return parts[0].allSatisfy { ($0.isLowercase && $0.isLetter) || $0.isNumber }
    }

    static func isAccountID(_ text: String) -> Bool {
        text.count == 12 && text.allSatisfy { $0.isASCII && $0.isNumber }
    }

    // MARK: Values

    /// A CIDR block of either family, with a message naming the field when it is not one.
    func prefix<P: AddressPrefix>(_ text: Located<String>, field: String, of subject: String) -> P? {
        if let prefix = P(text.value) { return prefix }
        if P.hostBitsSet(text.value), let (address, length) = P.components(text.value) {
            log.error(text.location, "'\(field)' of \(subject): '\(text.value)' has host bits set; did you mean '\(P(containing: address, length: length))'?")
        } else {
            log.error(text.location, "'\(field)' of \(subject): '\(text.value)' is not an \(P.familyName) CIDR block (like \(P.example))")
        }
        return nil
    }

    func ipv4Prefix(_ text: Located<String>, field: String, of subject: String) -> IPv4Prefix? {
        prefix(text, field: field, of: subject)
    }

    func ipv6Prefix(_ text: Located<String>, field: String, of subject: String) -> IPv6Prefix? {
        prefix(text, field: field, of: subject)
    }
}
