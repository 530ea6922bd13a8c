import Foundation
import Topology

/// What the API reads: the running topology, its targets' health now, and when it started.
public struct APISnapshot: Sendable {
    public struct TargetKey: Hashable, Sendable {
        public var group: Int
        public var host: String
        public var port: UInt16

        public init(group: Int, host: String, port: UInt16) {
            self.group = group
            self.host = host
            self.port = port
        }
    }

    /// A target's health in ELBv2's words: `healthy`, `unhealthy` or `initial`, with AWS's
    /// reason code (`Target.FailedHealthChecks`, `Target.Timeout`, `Elb.InitialHealthChecking`)
    /// and the check's own account of it.
    public struct TargetHealth: Sendable, Equatable {
        public var state: String
        public var reason: String?
        public var description: String?

        public init(state: String, reason: String?, description: String?) {
            self.state = state
            self.reason = reason
            self.description = description
        }
    }

    public var topology: Topology
    /// What `topology` was resolved from: what writes edit. Nil when it came from no spec (then
    /// only reads are served).
    public var spec: TopologySpec?
    public var targetHealth: [TargetKey: TargetHealth]
    /// Unix seconds: every resource's creation time (they were all made when `up` started).
    public var started: Double

    public init(topology: Topology, spec: TopologySpec?, targetHealth: [TargetKey: TargetHealth], started: Double) {
        self.topology = topology
        self.spec = spec
        self.targetHealth = targetHealth
        self.started = started
    }
}

/// The answer to one request, and the topology it leaves when it changed something (applied
/// by the caller as a live reload; when that fails, the caller answers with its error instead).
public struct APIAnswer: Sendable {
    public var status: Int
    public var body: String
    /// The topology a write leaves, and the spec it was resolved from.
    public var changed: (topology: Topology, spec: TopologySpec)?

    /// An error's answer, in `service`'s error document.
    public static func failure(_ error: APIError, service: AWSService = .ec2, requestID: String) -> APIAnswer {
        APIAnswer(status: error.status, body: error.document(service: service, requestID: requestID), changed: nil)
    }
}

/// The EC2 and ELBv2 subset of PrivateLink, in the AWS Query protocol, over a running topology.
public enum AWSQueryAPI {
    /// Answers `request`; `requestID` goes into the response as AWS's request ID does.
    public static func answer(_ request: QueryRequest, snapshot: APISnapshot, requestID: String) -> APIAnswer {
        let service = service(of: request)
        func failure(_ error: APIError) -> APIAnswer { APIAnswer.failure(error, service: service, requestID: requestID) }
        guard let action = request.action, !action.isEmpty else {
            return failure(APIError(.missingAction, "the request has no Action"))
        }
        if let region = request.region, region != snapshot.topology.region {
            return failure(APIError(.invalidClientTokenRegion,
                                    "the credential scope names region \(region); this topology's region is \(snapshot.topology.region)"))
        }
        if let version = request.parameters["Version"], version != service.version {
            return failure(APIError(.invalidVersion, "version \(version) of \(service.rawValue) is not served here; \(service.version) is"))
        }
        var context = ActionContext(request: request, snapshot: snapshot)
        let result: Result<(inout XMLWriter) -> Void, APIError>
        switch service {
        case .ec2: result = EC2Actions.run(action, &context)
        case .elasticLoadBalancingV2: result = ELBv2Actions.run(action, &context)
        }
        switch result {
        case .failure(let error):
            return failure(error)
        case .success where service == .ec2 && request.parameters["DryRun"]?.lowercased() == "true":
            // EC2's dry run: checked as the call would be, and nothing done.
            return failure(APIError(.dryRunOperation, "Request would have succeeded, but DryRun flag is set."))
        case .success(let fill):
            var xml = XMLWriter()
            xml.element("\(action)Response", namespace: service.xmlNamespace) { xml in
                switch service {
                case .ec2:
                    xml.value("requestId", requestID)
                    fill(&xml)
                case .elasticLoadBalancingV2:
                    xml.element("\(action)Result") { fill(&$0) }
                    xml.element("ResponseMetadata") { $0.value("RequestId", requestID) }
                }
            }
            return APIAnswer(status: 200, body: xml.text, changed: context.changed)
        }
    }

    /// The service a request is for: its signature's, else its action's, else EC2.
    public static func service(of request: QueryRequest) -> AWSService {
        request.service ?? request.action.flatMap(service(ofAction:)) ?? .ec2
    }

    /// The service of an unsigned request, by its action.
    static func service(ofAction action: String) -> AWSService? {
        if ELBv2Actions.names.contains(action) { return .elasticLoadBalancingV2 }
        if EC2Actions.names.contains(action) { return .ec2 }
        return nil
    }
}

/// What an action reads and what it leaves.
struct ActionContext {
    let request: QueryRequest
    let snapshot: APISnapshot
    var topology: Topology { changed?.topology ?? snapshot.topology }
    /// The topology after the action, when it changed anything, and its spec.
    var changed: (topology: Topology, spec: TopologySpec)?

    /// Where a value the API wrote stands in the spec: no place in any file.
    static let apiPosition = FilePosition(line: 0, column: 0)

    /// Edits the spec as a change to the file would, and resolves it: the edit stands only when
    /// the result is a valid topology, as a reload of the edited file would; else the
    /// resolver's first errors are the API's error, and nothing changed.
    mutating func edit(_ change: (inout TopologySpec, Topology) throws(APIError) -> Void) throws(APIError) {
        guard var spec = changed?.spec ?? snapshot.spec else {
            throw APIError(.unsupportedOperation, "this topology was not read from a file; it can be read, not changed")
        }
        try change(&spec, topology)
        let load = Topology.resolve(spec)
        guard let resolved = load.topology else {
            throw APIError(.invalidParameterValue, load.errors.prefix(3).map(\.message).joined(separator: "; "))
        }
        changed = (resolved, spec)
    }

    /// `Name`'s value, or the error AWS gives when it is missing.
    func required(_ name: String) -> Result<String, APIError> {
        guard let value = request.parameters[name], !value.isEmpty else {
            return .failure(APIError(.missingParameter, "The request must contain the parameter \(name)"))
        }
        return .success(value)
    }

    /// An ISO 8601 time, as the APIs write timestamps.
    var creationTime: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: snapshot.started))
    }
}

/// A page of a list, as the describe calls give them: EC2's `MaxResults`/`NextToken`, ELBv2's
/// `PageSize`/`Marker`. A token is the offset of the page's first element.
struct Page<Element> {
    var elements: [Element]
    var next: String?

    init(_ all: [Element], size: String?, token: String?, smallest: Int, largest: Int) throws(APIError) {
        var start = 0
        if let token {
            guard let offset = Int(token), offset >= 0, offset <= all.count else {
                throw APIError(.invalidParameterValue, "the pagination token \(token) is not one this endpoint gave")
            }
            start = offset
        }
        var count = all.count - start
        if let size {
            guard let limit = Int(size), limit >= smallest, limit <= largest else {
                throw APIError(.invalidParameterValue, "the page size \(size) must be from \(smallest) to \(largest)")
            }
            count = min(count, limit)
        }
        elements = Array(all[start..<(start + count)])
        next = start + count < all.count ? String(start + count) : nil
    }
}

/// EC2's filters over one resource: each filter must match one of the resource's values for
/// its name (`*` and `?` as wildcards, as EC2 takes them); a filter name the call does not know
/// is an error, as in EC2.
struct Filters {
    let filters: [(name: String, values: [String])]

    init(_ request: QueryRequest, known: Set<String>) throws(APIError) {
        filters = request.filters()
        for filter in filters where !known.contains(filter.name) && !filter.name.hasPrefix("tag:") && filter.name != "tag-key" {
            throw APIError(.invalidParameterValue, "The filter '\(filter.name)' is invalid")
        }
    }

    /// Whether a resource with these attribute values (and tags) passes every filter.
    func admit(_ attributes: [String: [String]], tags: [String: String] = [:]) -> Bool {
        filters.allSatisfy { filter in
            let values: [String]
            if filter.name.hasPrefix("tag:") {
                values = tags[String(filter.name.dropFirst(4))].map { [$0] } ?? []
            } else if filter.name == "tag-key" {
                values = Array(tags.keys)
            } else {
                values = attributes[filter.name] ?? []
            }
            return values.contains { value in filter.values.contains { Filters.glob($0, value) } }
        }
    }

    static func glob(_ pattern: String, _ text: String) -> Bool {
        let pattern = Array(pattern), text = Array(text)
        var p = 0, t = 0, star = -1, mark = 0
        while t < text.count {
            if p < pattern.count && (pattern[p] == "?" || pattern[p] == text[t]) {
                p += 1
                t += 1
            } else if p < pattern.count && pattern[p] == "*" {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
