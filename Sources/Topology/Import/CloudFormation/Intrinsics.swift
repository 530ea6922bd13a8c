import Foundation
import PacketWire

/// A template value once its functions have run: what CloudFormation would hand a resource.
/// Numbers and booleans stay text, as CloudFormation passes them.
indirect enum TemplateValue: Equatable {
    case string(String)
    case list([TemplateValue])
    case map([String: TemplateValue])
    /// `AWS::NoValue`, or what could not be resolved (a warning says where).
    case none

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var list: [TemplateValue]? {
        if case .list(let items) = self { return items }
        return nil
    }

    var strings: [String] { list?.compactMap(\.string) ?? string.map { [$0] } ?? [] }

    subscript(key: String) -> TemplateValue? {
        if case .map(let fields) = self { return fields[key] }
        return nil
    }
}

/// Runs a template's intrinsic functions in the topology's region and account (CloudFormation
/// User Guide, "Intrinsic function reference" and "Pseudo parameters reference"). What cannot be
/// resolved is a warning at its place in the template and resolves to `.none`, so that the rest
/// is still imported.
final class IntrinsicEvaluator {
    let region: String
    let accountID: String
    let stackName: String
    /// What `Fn::GetAZs` gives for the region.
    let zones: [String]
    var parameters: [String: TemplateValue] = [:]
    let mappings: TemplateNode?
    let conditionNodes: TemplateNode?
    /// Each resource's logical ID and the value its `Ref` gives (an AWS-shaped ID or ARN).
    var references: [String: String] = [:]
    /// Resources skipped as not modelled (warned of once): their `Ref` and attributes give this
    /// stand-in, and a property of a modelled resource that needs them says so where it is used.
    var unmodelled: [String: String] = [:]
    /// Parameters the template declares with no default and no value given (warned of once).
    var unset: Set<String> = []
    /// Values for `Fn::ImportValue`, by export name.
    var imports: [String: String] = [:]
    /// A resource's attribute (`Fn::GetAtt`), or nil when it is not known.
    var attribute: (String, String, FilePosition) -> TemplateValue? = { _, _, _ in nil }
    let log: DiagnosticLog
    private var conditions: [String: Bool] = [:]
    private var evaluatingConditions: Set<String> = []

    init(region: String, accountID: String, stackName: String, zones: [String], mappings: TemplateNode?,
         conditions: TemplateNode?, log: DiagnosticLog) {
        self.region = region
        self.accountID = accountID
        self.stackName = stackName
        self.zones = zones
        self.mappings = mappings
        self.conditionNodes = conditions
        self.log = log
    }

    // MARK: Values

    func evaluate(_ node: TemplateNode) -> TemplateValue {
        switch node.value {
        case .scalar(let text):
            return .string(text)
        case .list(let items):
            // AWS::NoValue drops an item.
            return .list(items.map { evaluate($0) }.filter { $0 != .none })
        case .map(let pairs):
            var fields: [String: TemplateValue] = [:]
            for (key, value) in pairs {
                let result = evaluate(value)
                if result != .none { fields[key.value] = result }
            }
            return .map(fields)
        case .function(let name, let argument):
            return call(name, argument, at: node.location)
        }
    }

    private func call(_ name: String, _ argument: TemplateNode, at location: FilePosition) -> TemplateValue {
        switch name {
        case "Ref":
            return reference(argument.scalar ?? evaluate(argument).string ?? "", at: location)
        case "Fn::GetAtt":
            let parts: [String]
            if let text = argument.scalar {
                parts = text.split(separator: ".", maxSplits: 1).map(String.init)
            } else {
                parts = evaluate(argument).strings
            }
            guard parts.count == 2 else { return unresolved(location, "Fn::GetAtt needs LogicalId.Attribute") }
            return getAttribute(parts[0], parts[1], at: location)
        case "Fn::Sub":
            return substitute(argument, at: location)
        case "Fn::Join":
            let arguments = evaluate(argument).list ?? []
            guard arguments.count == 2, let delimiter = arguments[0].string, let items = arguments[1].list else {
                return unresolved(location, "Fn::Join needs [delimiter, [values]]")
            }
            return .string(items.compactMap(\.string).joined(separator: delimiter))
        case "Fn::Select":
            let arguments = evaluate(argument).list ?? []
            guard arguments.count == 2, let index = arguments[0].string.flatMap({ Int($0) }), let items = arguments[1].list else {
                return unresolved(location, "Fn::Select needs [index, [values]]")
            }
            guard items.indices.contains(index) else { return unresolved(location, "Fn::Select: index \(index) of a list of \(items.count)") }
            return items[index]
        case "Fn::GetAZs":
            let asked = evaluate(argument).string ?? ""
            guard asked.isEmpty || asked == region else {
                return unresolved(location, "Fn::GetAZs of \(asked): the topology is in \(region) only")
            }
            return .list(zones.map { .string($0) })
        case "Fn::Cidr":
            let arguments = evaluate(argument).strings
            guard arguments.count == 3, let count = Int(arguments[1]), let bits = Int(arguments[2]),
                  let blocks = IntrinsicEvaluator.cidr(arguments[0], count: count, hostBits: bits) else {
                return unresolved(location, "Fn::Cidr needs [block, count, host bits] that fit the block")
            }
            return .list(blocks.map { .string($0) })
        case "Fn::If":
            guard case .list(let items) = argument.value, items.count == 3, let condition = items[0].scalar else {
                return unresolved(location, "Fn::If needs [condition, value if true, value if false]")
            }
            return evaluate(items[holds(condition, at: items[0].location) ? 1 : 2])
        case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
            return .string(truth(TemplateNode(function: name, argument, at: location)) ? "true" : "false")
        case "Fn::FindInMap":
            let keys = evaluate(argument).strings
            guard keys.count == 3 else { return unresolved(location, "Fn::FindInMap needs [map, key, key]") }
            guard let value = mappings?[keys[0]]?[keys[1]]?[keys[2]] else {
                return unresolved(location, "Fn::FindInMap: no \(keys.joined(separator: "/")) in Mappings")
            }
            return evaluate(value)
        case "Fn::Split":
            let arguments = evaluate(argument).list ?? []
            guard arguments.count == 2, let delimiter = arguments[0].string, !delimiter.isEmpty, let text = arguments[1].string else {
                return unresolved(location, "Fn::Split needs [delimiter, text]")
            }
            return .list(text.components(separatedBy: delimiter).map { .string($0) })
        case "Fn::Base64":
            guard let text = evaluate(argument).string else { return unresolved(location, "Fn::Base64 needs text") }
            return .string(Data(text.utf8).base64EncodedString())
        case "Fn::ImportValue":
            guard let export = evaluate(argument).string else { return unresolved(location, "Fn::ImportValue needs an export name") }
            guard let value = imports[export] else {
                return unresolved(location, "Fn::ImportValue \(export): another stack's export; give it with --import-value \(export)=VALUE")
            }
            return .string(value)
        case "Fn::Length":
            return .string(String(evaluate(argument).list?.count ?? 0))
        default:
            return unresolved(location, "\(name) is not supported")
        }
    }

    private func reference(_ name: String, at location: FilePosition) -> TemplateValue {
        switch name {
        case "AWS::Region": return .string(region)
        case "AWS::AccountId": return .string(accountID)
        case "AWS::StackName": return .string(stackName)
        case "AWS::StackId":
            return .string("arn:aws:cloudformation:\(region):\(accountID):stack/\(stackName)/00000000-0000-4000-8000-000000000000")
        case "AWS::Partition": return .string("aws")
        case "AWS::URLSuffix": return .string("amazonaws.com")
        case "AWS::NoValue": return .none
        case "AWS::NotificationARNs": return .list([])
        default: break
        }
        if let value = parameters[name] { return value }
        if let id = references[name] { return .string(id) }
        if let standIn = unmodelled[name] { return .string(standIn) }
        if unset.contains(name) { return .none }
        let known = Array(parameters.keys) + Array(references.keys)
        let hint = suggestion(for: name, among: known).map { " (did you mean '\($0)'?)" } ?? ""
        return unresolved(location, "!Ref \(name): no parameter or resource of that name\(hint)")
    }

    private func getAttribute(_ resource: String, _ name: String, at location: FilePosition) -> TemplateValue {
        if let standIn = unmodelled[resource] { return .string("\(standIn).\(name)") }
        guard references[resource] != nil else {
            let hint = suggestion(for: resource, among: Array(references.keys)).map { " (did you mean '\($0)'?)" } ?? ""
            return unresolved(location, "!GetAtt \(resource).\(name): no resource \(resource)\(hint)")
        }
        if let value = attribute(resource, name, location) { return value }
        return unresolved(location, "!GetAtt \(resource).\(name): an attribute Privet does not model")
    }

    /// `Fn::Sub`: `${Name}` (a variable of its map, a parameter, a resource's Ref, a pseudo
    /// parameter), `${Resource.Attribute}`, and `${!Literal}` written as `${Literal}`.
    private func substitute(_ argument: TemplateNode, at location: FilePosition) -> TemplateValue {
        var text: String
        var variables: [String: TemplateValue] = [:]
        if let plain = argument.scalar {
            text = plain
        } else if case .list(let items) = argument.value, items.count == 2, let plain = items[0].scalar {
            text = plain
            for (key, value) in items[1].mapPairs { variables[key.value] = evaluate(value) }
        } else {
            return unresolved(location, "Fn::Sub needs a text, or [text, {variables}]")
        }
        var result = ""
        while let open = text.range(of: "${") {
            result += text[..<open.lowerBound]
            guard let close = text[open.upperBound...].firstIndex(of: "}") else {
                result += text[open.lowerBound...]
                text = ""
                break
            }
            let name = String(text[open.upperBound..<close])
            text = String(text[text.index(after: close)...])
            if name.hasPrefix("!") {
                result += "${" + name.dropFirst() + "}"
                continue
            }
            let value: TemplateValue
            if let given = variables[name] {
                value = given
            } else if !name.hasPrefix("AWS::"), let dot = name.firstIndex(of: ".") {
                value = getAttribute(String(name[..<dot]), String(name[name.index(after: dot)...]), at: location)
            } else {
                value = reference(name, at: location)
            }
            result += value.string ?? value.strings.joined(separator: ",")
        }
        return .string(result + text)
    }

    // MARK: Conditions

    /// Whether the template's condition `name` holds; an unknown one is a warning, and false.
    func holds(_ name: String, at location: FilePosition) -> Bool {
        if let known = conditions[name] { return known }
        guard let node = conditionNodes?[name] else {
            let known = conditionNodes?.mapPairs.map(\.key.value) ?? []
            let hint = suggestion(for: name, among: known).map { " (did you mean '\($0)'?)" } ?? ""
            log.warning(location, "condition \(name) is not in Conditions\(hint): taken as false")
            return false
        }
        guard evaluatingConditions.insert(name).inserted else {
            log.error(location, "condition \(name) depends on itself")
            return false
        }
        let result = truth(node)
        evaluatingConditions.remove(name)
        conditions[name] = result
        return result
    }

    /// A condition function's truth: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`.
    private func truth(_ node: TemplateNode) -> Bool {
        guard case .function(let name, let argument) = node.value else {
            return evaluate(node).string?.lowercased() == "true"
        }
        let items: [TemplateNode]
        if case .list(let list) = argument.value { items = list } else { items = [argument] }
        switch name {
        case "Condition":
            return holds(argument.scalar ?? "", at: node.location)
        case "Fn::Equals":
            guard items.count == 2 else {
                log.warning(node.location, "Fn::Equals needs two values: taken as false")
                return false
            }
            return evaluate(items[0]) == evaluate(items[1])
        case "Fn::Not":
            return !(items.first.map { truth($0) } ?? false)
        case "Fn::And":
            return items.allSatisfy { truth($0) }
        case "Fn::Or":
            return items.contains { truth($0) }
        default:
            return evaluate(node).string?.lowercased() == "true"
        }
    }

    private func unresolved(_ location: FilePosition, _ message: String) -> TemplateValue {
        log.warning(location, message)
        return .none
    }

    // MARK: Fn::Cidr

    /// The first `count` blocks of `hostBits` host bits each inside `block`, IPv4 or IPv6; nil
    /// when they do not fit in it.
    static func cidr(_ block: String, count: Int, hostBits: Int) -> [String]? {
        guard (1...256).contains(count), hostBits >= 0 else { return nil }
        func fits(_ room: Int) -> Bool { room >= 0 && (room >= 8 || count <= 1 << room) }
        if let prefix = IPv4Prefix(block) {
            let length = 32 - hostBits
            guard length <= 32, fits(length - prefix.length) else { return nil }
            return (0..<count).map { index in
                let network = IPv4Address(prefix.network.value &+ (hostBits >= 32 ? 0 : UInt32(index) << UInt32(hostBits)))
                return IPv4Prefix(containing: network, length: length).description
            }
        }
        if let prefix = IPv6Prefix(block) {
            let length = 128 - hostBits
            guard length <= 128, fits(length - prefix.length) else { return nil }
            return (0..<count).map { index in
                let step = UInt64(index)
                let network = hostBits >= 64
                    ? IPv6Address(high: prefix.network.high &+ (hostBits >= 128 ? 0 : step << UInt64(hostBits - 64)), low: 0)
                    : IPv6Address(high: prefix.network.high, low: prefix.network.low &+ step << UInt64(hostBits))
                return IPv6Prefix(containing: network, length: length).description
            }
        }
        return nil
    }
}

extension TemplateNode {
    init(function name: String, _ argument: TemplateNode, at location: FilePosition) {
        self.init(value: .function(name, argument), location: location)
    }

    init(value: Value, location: FilePosition) {
        self.value = value
        self.location = location
    }
}
