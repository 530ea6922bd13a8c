import AWSAPI
import Dispatch
import Foundation
import Glibc
import PacketIO
import Topology

// `privet up --api [ADDRESS:]PORT`: the EC2 and ELBv2 subset of PrivateLink in the AWS Query
// protocol, at one endpoint as LocalStack serves many (`aws --endpoint-url ...`). Reads answer
// from the forwarding thread's own topology and health checks; a write makes a new topology and
// applies it as a live reload (established flows kept), so the next packet feels it. Requests
// are read on their own threads; they are answered one at a time, so that two writes never race
// over the same topology.

extension LiveNetwork {
    /// What the API reads, taken on the forwarding thread.
    func apiSnapshot(topology current: Topology) -> APISnapshot {
        let tables = dataplane.tables
        var health: [APISnapshot.TargetKey: APISnapshot.TargetHealth] = [:]
        for check in checker.health {
            let target = tables.targets[check.target]
            guard case .host(let host) = current.networkInterfaces[target.interface].owner else { continue }
            let key = APISnapshot.TargetKey(group: target.targetGroup, host: current[host].name, port: target.port)
            if check.lastCheck == nil {
                health[key] = .init(state: "initial", reason: "Elb.InitialHealthChecking", description: "Initial health checks in progress")
            } else if check.healthy {
                health[key] = .init(state: "healthy", reason: nil, description: nil)
            } else {
                // AWS's codes: no answer in time, a wrong HTTP status, or any other failure.
                let reason = check.lastReason.hasPrefix("no answer") ? "Target.Timeout"
                    : check.lastReason.hasPrefix("HTTP ") ? "Target.ResponseCodeMismatch" : "Target.FailedHealthChecks"
                health[key] = .init(state: "unhealthy", reason: reason, description: "Health checks failed: \(check.lastReason)")
            }
        }
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let started = Double(wall.tv_sec) + Double(wall.tv_nsec) / 1e9 - Double(LiveNetwork.monotonic() - self.started) / 1e9
        return APISnapshot(topology: current, spec: currentSpec, targetHealth: health, started: started)
    }
}

public final class APIServer: @unchecked Sendable {
    private let server: RequestServer

    /// Listens on `address:port` (IPv4) for `network`.
    public init(address: IPv4AddressText, port: UInt16, network: LiveNetwork) throws(ForwarderError) {
        let listener = try listeningSocket(address, port, backlog: 64, option: "--api")
        let answering = NSLock()
        let sequence = RequestCounter()
        server = RequestServer(listener: listener, limit: QueryRequest.bodyLimit + 16384, concurrent: true,
                               isComplete: { bytes in QueryRequest.expectedLength(bytes).map { bytes.count >= $0 } ?? false }) { bytes in
            answering.lock()
            defer { answering.unlock() }
            return APIServer.response(bytes, network: network, requestID: sequence.next())
        }
    }

    public func start() { server.start(name: "privet-api") }

    public func close() { server.stop() }

    static func response(_ bytes: [UInt8], network: LiveNetwork, requestID: String) -> [UInt8] {
        let answer: APIAnswer
        if let length = QueryRequest.expectedLength(bytes), length > QueryRequest.bodyLimit + 16384 || bytes.count < length {
            answer = APIAnswer.failure(APIError(.requestTooLarge, "the request is over \(QueryRequest.bodyLimit) bytes or cut short"),
                                       requestID: requestID)
        } else {
            switch QueryRequest.parse(bytes) {
            case .failure(let error):
                answer = APIAnswer.failure(error, requestID: requestID)
            case .success(let request):
                if let snapshot = network.ask({ network, topology, _ in network.apiSnapshot(topology: topology) }) {
                    answer = APIServer.applied(AWSQueryAPI.answer(request, snapshot: snapshot, requestID: requestID),
                                               network: network, request: request, requestID: requestID)
                } else {
                    answer = APIAnswer.failure(APIError(.serviceUnavailable, "the topology is not forwarding"), requestID: requestID)
                }
            }
        }
        let body = Array(answer.body.utf8)
        let reasons = [200: "OK", 412: "Precondition Failed", 413: "Payload Too Large", 503: "Service Unavailable"]
        let reason = reasons[answer.status] ?? "Bad Request"
        let head = "HTTP/1.1 \(answer.status) \(reason)\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: \(body.count)\r\n"
            + "x-amzn-RequestId: \(requestID)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// A write's new topology, applied; when the reload refuses it, its error and nothing changed.
    private static func applied(_ answer: APIAnswer, network: LiveNetwork, request: QueryRequest, requestID: String) -> APIAnswer {
        guard let changed = answer.changed else { return answer }
        do {
            try network.reload(changed.topology, spec: changed.spec)
            network.log(.info, "API: \(request.action ?? "") applied")
            return answer
        } catch {
            let service = AWSQueryAPI.service(of: request)
            network.log(.warning, "API: \(request.action ?? "") refused: \(error.description)")
            return APIAnswer.failure(APIError(.invalidParameterValue, error.description), service: service, requestID: requestID)
        }
    }
}

/// Request IDs as AWS writes them (a UUID's shape), counted from a random start.
private final class RequestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count: UInt64 = 0
    private let base = UUID().uuidString.lowercased().prefix(23)

    func next() -> String {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        let tail = String(count, radix: 16)
        return base + "-" + String(repeating: "0", count: max(0, 12 - tail.count)) + tail
    }
}
