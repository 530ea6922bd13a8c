import Foundation

// An AWS Query-protocol request (what the AWS CLI and SDKs send to EC2 and Elastic Load
// Balancing v2): an HTTP POST of form-encoded parameters (or a GET with them in the query
// string), `Action` and `Version` among them, signed with Signature Version 4, whose credential
// scope (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`) names the region and the service.

/// The services answered at the one endpoint, as LocalStack answers many.
public enum AWSService: String, Sendable {
    case ec2
    case elasticLoadBalancingV2 = "elasticloadbalancing"

    /// The API version each service's requests name.
    var version: String {
        switch self {
        case .ec2: return "2016-11-15"
        case .elasticLoadBalancingV2: return "2015-12-01"
        }
    }

    var xmlNamespace: String {
        switch self {
        case .ec2: return "http://ec2.amazonaws.com/doc/2016-11-15/"
        case .elasticLoadBalancingV2: return "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
        }
    }
}

public struct QueryRequest: Sendable {
    /// The largest body taken: anything longer is refused unread.
    public static let bodyLimit = 1 << 20

    public var method: String
    public var path: String
    /// Header names in lower case.
    public var headers: [String: String]
    public var parameters: [String: String]
    /// From the signature's credential scope; nil for an unsigned request.
    public var service: AWSService?
    public var region: String?

    public var action: String? { parameters["Action"] }

    /// Reads one HTTP/1.1 request; nil with the reason when it is not one this endpoint can read.
    public static func parse(_ bytes: [UInt8]) -> Result<QueryRequest, APIError> {
        guard let headEnd = bytes.firstRange(of: [13, 10, 13, 10]) else {
            return .failure(APIError(.malformedRequest, "the request's head does not end"))
        }
        let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { return .failure(APIError(.malformedRequest, "no request line")) }
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else {
            return .failure(APIError(.malformedRequest, "not an HTTP/1.x request line"))
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                return .failure(APIError(.malformedRequest, "a header line without a colon"))
            }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let target = String(requestLine[1])
        let path = String(target.prefix { $0 != "?" })
        var parameters: [String: String] = [:]
        if let query = target.firstIndex(of: "?") {
            guard decodeForm(String(target[target.index(after: query)...]), into: &parameters) else {
                return .failure(APIError(.malformedRequest, "the query string is not percent-encoded"))
            }
        }
        let body = bytes[headEnd.upperBound...]
        if !body.isEmpty {
            guard decodeForm(String(decoding: body, as: UTF8.self), into: &parameters) else {
                return .failure(APIError(.malformedRequest, "the body is not form-encoded"))
            }
        }
        var request = QueryRequest(method: String(requestLine[0]), path: path, headers: headers, parameters: parameters)
        if let authorization = headers["authorization"], let scope = credentialScope(authorization) {
            request.region = scope.region
            request.service = AWSService(rawValue: scope.service)
        }
        return .success(request)
    }

    init(method: String, path: String, headers: [String: String], parameters: [String: String]) {
        self.method = method
        self.path = path
        self.headers = headers
        self.parameters = parameters
    }

    /// How many bytes the whole request takes, once its head is read: nil while the head is
    /// incomplete. A request without a length has no body.
    public static func expectedLength(_ bytes: [UInt8]) -> Int? {
        guard let headEnd = bytes.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)), length >= 0 else {
            return headEnd.upperBound
        }
        return headEnd.upperBound + length
    }

    /// `application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte (RFC 3986 §2.1).
    static func decodeForm(_ text: String, into parameters: inout [String: String]) -> Bool {
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecoded(parts[0]), let value = percentDecoded(parts.count > 1 ? parts[1] : "") else {
                return false
            }
            parameters[name] = value
        }
        return true
    }

    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case 0x2B: bytes.append(0x20)
            case 0x25:
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x37
        case 0x61...0x66: return byte - 0x57
        default: return nil
        }
    }

    /// The region and service of a SigV4 `Authorization` header.
    static func credentialScope(_ authorization: String) -> (region: String, service: String)? {
        guard let start = authorization.range(of: "Credential=") else { return nil }
        let credential = authorization[start.upperBound...].prefix { $0 != "," && $0 != " " }
        let parts = credential.split(separator: "/")
        guard parts.count == 5, parts[4] == "aws4_request" else { return nil }
        return (String(parts[2]), String(parts[3]))
    }

    /// The values of a list parameter in the Query protocol's flattening: `Name.1`, `Name.2`, ...
    /// (EC2's `VpcEndpointId.1`; ELBv2's `Names.member.1` with `member` given).
    func list(_ name: String, member: String? = nil) -> [String] {
        let prefix = member.map { "\(name).\($0)." } ?? "\(name)."
        return parameters.compactMap { key, value -> (Int, String)? in
            guard key.hasPrefix(prefix), let index = Int(key.dropFirst(prefix.count)) else { return nil }
            return (index, value)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// EC2's filters: `Filter.N.Name` with `Filter.N.Value.M`.
    func filters() -> [(name: String, values: [String])] {
        var found: [(Int, String, [String])] = []
        for (key, value) in parameters where key.hasPrefix("Filter.") && key.hasSuffix(".Name") {
            let number = key.dropFirst("Filter.".count).dropLast(".Name".count)
            guard let index = Int(number) else { continue }
            found.append((index, value, list("Filter.\(number).Value")))
        }
        return found.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
    }
}
