import Foundation

/// The JSON the AWS CLI printed, one file per command (`describe-vpcs.json`), read as loosely
/// typed trees. A file may hold several outputs one after another (a command run once per load
/// balancer or target group, appended), or a JSON array of them.
struct SnapshotFiles {
    /// The commands read, each with its file's outputs in order.
    private(set) var outputs: [String: [[String: Any]]] = [:]
    private(set) var notes: [String] = []

    static let commands = [
        "describe-availability-zones", "describe-vpcs", "describe-subnets", "describe-route-tables",
        "describe-security-groups", "describe-network-interfaces", "describe-instances", "describe-managed-prefix-lists",
        "describe-vpc-endpoints", "describe-vpc-endpoint-service-configurations", "describe-vpc-endpoint-connections",
        "describe-load-balancers", "describe-listeners", "describe-target-groups", "describe-target-health",
    ]

    init(directory: String) {
        for command in SnapshotFiles.commands {
            let path = (directory as NSString).appendingPathComponent(command + ".json")
            guard let data = FileManager.default.contents(atPath: path) else {
                notes.append("\(command).json: not there; skipped")
                continue
            }
            guard let documents = SnapshotFiles.documents(data) else {
                notes.append("\(command).json: not the JSON the AWS CLI prints; skipped")
                continue
            }
            outputs[command] = documents
        }
    }

    /// Every item of `key` in the command's outputs (`Vpcs` of `describe-vpcs`).
    func items(_ command: String, _ key: String) -> [[String: Any]] {
        (outputs[command] ?? []).flatMap { ($0[key] as? [[String: Any]]) ?? [] }
    }

    /// Each output of the command, in file order.
    func documents(_ command: String) -> [[String: Any]] { outputs[command] ?? [] }

    /// One JSON document, an array of them, or several written one after another.
    static func documents(_ data: Data) -> [[String: Any]]? {
        if let one = try? JSONSerialization.jsonObject(with: data) {
            if let object = one as? [String: Any] { return [object] }
            if let array = one as? [[String: Any]] { return array }
            return nil
        }
        // Top-level objects one after another: cut where the braces close, outside strings.
        var result: [[String: Any]] = []
        let bytes = [UInt8](data)
        var depth = 0, start = -1, inString = false, escaped = false
        for (index, byte) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"):
                if depth == 0 { start = index }
                depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                guard depth >= 0 else { return nil }
                if depth == 0 {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[start...index])) as? [String: Any] else { return nil }
                    result.append(object)
                }
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): break
            default: if depth == 0 { return nil }
            }
        }
        return depth == 0 && !result.isEmpty ? result : nil
    }
}

extension Dictionary where Key == String, Value == Any {
    func string(_ key: String) -> String? {
        if let text = self[key] as? String { return text }
        if let number = self[key] as? NSNumber { return number.stringValue }
        return nil
    }

    func bool(_ key: String) -> Bool? { (self[key] as? NSNumber)?.boolValue ?? (self[key] as? Bool) }
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue ?? string(key).flatMap { Int($0) } }
    func items(_ key: String) -> [[String: Any]] { (self[key] as? [[String: Any]]) ?? [] }
    func strings(_ key: String) -> [String] { (self[key] as? [String]) ?? [] }

    /// The value of the `Name` tag.
    var nameTag: String? { items("Tags").first { $0.string("Key") == "Name" }?.string("Value") }
}
