import Yams

/// A CloudFormation template as written: every value with where it is, and each intrinsic
/// function, short form (`!Ref X`, a YAML tag) or long form (`{"Ref": "X"}`, `{"Fn::Sub": ...}`),
/// read into one shape, `function`. JSON templates are read by the same YAML reader (JSON is
/// YAML's flow style). Nothing is evaluated here.
struct TemplateNode {
    indirect enum Value {
        case scalar(String)
        case list([TemplateNode])
        /// In the template's order.
        case map([(key: Located<String>, value: TemplateNode)])
        /// `Ref`, or `Fn::Name` for the others, and what it is given.
        case function(String, TemplateNode)
    }

    let value: Value
    let location: FilePosition

    /// The functions a template may call, by their long names (CloudFormation's intrinsic
    /// function reference); `Condition` is a condition's name used inside `Fn::And` and friends.
    static let functions: Set<String> = [
        "Ref", "Condition", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::GetAZs", "Fn::Cidr", "Fn::If",
        "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Fn::FindInMap", "Fn::Split", "Fn::Base64", "Fn::ImportValue",
        "Fn::Length", "Fn::ToJsonString",
    ]

    /// The field `key` of a map.
    subscript(key: String) -> TemplateNode? {
        guard case .map(let pairs) = value else { return nil }
        return pairs.first { $0.key.value == key }?.value
    }

    var mapPairs: [(key: Located<String>, value: TemplateNode)] {
        if case .map(let pairs) = value { return pairs }
        return []
    }

    var scalar: String? {
        if case .scalar(let text) = value { return text }
        return nil
    }

    /// Reads the document; nil with an error logged when it is not YAML or JSON.
    static func read(_ bytes: [UInt8], log: DiagnosticLog) -> TemplateNode? {
        guard let root = YAMLDocument(bytes: bytes, log: log).root else {
            if !log.hasErrors { log.error(FilePosition(line: 1, column: 1), "the template is empty") }
            return nil
        }
        return TemplateNode(root, log: log)
    }

    /// `node` read; its tag too unless `tagRead` (the tag was the function around it).
    init(_ node: Node, log: DiagnosticLog, tagRead: Bool = false) {
        location = FilePosition(node.mark)
        let tag = node.tag.rawValue
        // A short form: `!Ref X` is `Ref`, `!Sub ...` is `Fn::Sub`, whatever node it tags.
        if !tagRead, tag.hasPrefix("!"), tag.count > 1 {
            let short = String(tag.dropFirst())
            let name = short == "Ref" || short == "Condition" ? short : "Fn::" + short
            let argument = TemplateNode(node, log: log, tagRead: true)
            if TemplateNode.functions.contains(name) {
                value = .function(name, argument)
            } else {
                log.warning(location, "unknown tag !\(short): read as its value")
                value = argument.value
            }
            return
        }
        switch node {
        case .scalar(let scalar):
            value = .scalar(scalar.string)
        case .sequence(let sequence):
            value = .list(sequence.map { TemplateNode($0, log: log) })
        case .mapping(let mapping):
            let pairs = mapping.map { key, value in
                (key: Located(key.string ?? "", at: FilePosition(key.mark)), value: TemplateNode(value, log: log))
            }
            // The long form: a map of one key that names a function.
            if pairs.count == 1, TemplateNode.functions.contains(pairs[0].key.value) {
                value = .function(pairs[0].key.value, pairs[0].value)
            } else {
                value = .map(pairs)
            }
        case .alias:
            value = .scalar("")
        }
    }
}
