import Yams

/// The YAML file as nodes with positions, checked for what Yams should never be handed.
struct YAMLDocument {
    /// Deeper nesting than this is refused before parsing: a topology needs a handful of levels,
    /// and the YAML composer recurses once per level.
    static let maximumDepth = 64
    /// Larger files are refused: a topology is a few hundred lines.
    static let maximumSize = 4 << 20

    let root: Node?

    /// Reads `bytes`, reporting what is wrong to `log`; `root` is nil when nothing could be read.
    init(bytes: [UInt8], log: DiagnosticLog) {
        root = YAMLDocument.compose(bytes, log: log)
    }

    private static func compose(_ bytes: [UInt8], log: DiagnosticLog) -> Node? {
        let start = FilePosition(line: 1, column: 1)
        guard bytes.count <= maximumSize else {
            log.error(start, "the file is \(bytes.count) bytes; a topology file may be at most \(maximumSize) bytes")
            return nil
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            log.error(location(ofByte: firstInvalidUTF8(bytes), in: bytes), "the file is not UTF-8 text")
            return nil
        }
        if let (location, problem) = prescan(text) {
            log.error(location, problem)
            return nil
        }
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            let (location, problem) = describe(error, text: text)
            log.error(location, "YAML syntax: \(problem)")
        } catch {
            log.error(start, "YAML syntax: \(error)")
        }
        return nil
    }

    /// Where and what, from Yams' error (its own description adds a snippet we do not want).
    private static func describe(_ error: YamlError, text: String) -> (FilePosition, String) {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            return (FilePosition(mark), prefix + problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            let second = duplicates.first.flatMap { secondOccurrence(of: $0, after: context.mark, in: text) }
            return (second ?? FilePosition(context.mark), "duplicate key \(keys) in one mapping")
        case .reader(let problem, _, _, _):
            return (FilePosition(line: 1, column: 1), problem)
        default:
            return (FilePosition(line: 1, column: 1), "\(error)")
        }
    }

    /// Where `key` is written a second time at the indentation of its first use after `mark`:
    /// Yams names the mapping, not the repeated key.
    static func secondOccurrence(of key: String, after mark: Mark, in text: String) -> FilePosition? {
        var firstColumn: Int?
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where offset + 1 >= mark.line {
            var rest = Substring(line)
            var column = 1
            while rest.first == " " || rest.first == "-" || rest.first == "{" || rest.first == "," {
                rest = rest.dropFirst()
                column += 1
            }
            guard rest.hasPrefix(key), rest.dropFirst(key.count).drop(while: { $0 == " " }).first == ":" else { continue }
            if let firstColumn {
                if firstColumn == column { return FilePosition(line: offset + 1, column: column) }
            } else {
                firstColumn = column
            }
        }
        return nil
    }

    /// What must be refused before Yams sees the text, found without parsing:
    /// - nesting deeper than the limit. The bound used is, on each line, the indentation plus the
    ///   block indicators ("- ", ": ", "? ") outside quotes, plus open flow brackets; true depth
    ///   never exceeds it, so a document under the limit is safe to compose.
    /// - aliases (`*name`): Yams expands them as it composes, so a few lines of nested aliases
    ///   ("billion laughs") would grow into billions of nodes. A topology never needs one.
    static func prescan(_ text: String) -> (FilePosition, String)? {
        var flowDepth = 0
        var lineNumber = 1
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var depth = 0
            var column = 0
            var inSingle = false, inDouble = false
            var indenting = true
            var previous: Character = " "
            for character in line {
                column += 1
                if indenting {
                    if character == " " || character == "\t" { depth += 1; continue }
                    indenting = false
                }
                if inDouble { if character == "\"" && previous != "\\" { inDouble = false } }
                else if inSingle { if character == "'" { inSingle = false } }
                else {
                    switch character {
                    case "#" where previous == " " || column == 1: break
                    case "\"": inDouble = true
                    case "'": inSingle = true
                    case "[", "{": flowDepth += 1
                    case "]", "}": flowDepth = max(0, flowDepth - 1)
                    case " " where previous == "-" || previous == ":" || previous == "?": depth += 1
                    case "*" where previous == " " || previous == "[" || previous == "{" || previous == "," || column == depth + 1:
                        return (FilePosition(line: lineNumber, column: column), "YAML aliases (*name) are not supported; write the value out")
                    default: break
                    }
                    if character == "#" && (previous == " " || column == 1) { break }
                }
                previous = character
                if depth + flowDepth > maximumDepth {
                    return (FilePosition(line: lineNumber, column: column), tooDeep(depth + flowDepth))
                }
            }
            if depth + flowDepth > maximumDepth {
                return (FilePosition(line: lineNumber, column: max(1, column)), tooDeep(depth + flowDepth))
            }
            lineNumber += 1
        }
        return nil
    }

    /// The offset of the first byte that is not part of valid UTF-8.
    static func tooDeep(_ depth: Int) -> String {
        "nesting deeper than \(maximumDepth) levels (at least \(depth)); a topology needs only a few"
    }

    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        var offset = 0
        while case .scalarValue(let scalar) = decoder.decode(&iterator) {
            offset += Unicode.UTF8.width(scalar)
        }
        return offset
    }

    static func location(ofByte offset: Int, in bytes: [UInt8]) -> FilePosition {
        var line = 1, column = 1
        for byte in bytes[..<min(offset, bytes.count)] {
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return FilePosition(line: line, column: column)
    }
}

extension FilePosition {
    init(_ mark: Mark?) {
        self.init(line: mark?.line ?? 1, column: mark?.column ?? 1)
    }
}

extension Node {
    var location: FilePosition { FilePosition(mark) }

    /// What a user would call this kind of node, for messages.
    var kindName: String {
        switch self {
        case .scalar: return "a single value"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

/// Reads one YAML mapping field by field, reporting to the log: missing required fields, values
/// of the wrong kind, and (in `finish`) fields nobody asked for, with a did-you-mean.
struct MappingReader {
    let location: FilePosition
    /// What the mapping is, for messages: "vpc 'consumer'", "route 2 of route table 'app'".
    var subject: String
    private let pairs: [(key: String, keyLocation: FilePosition, value: Node)]
    private var asked: [String] = []
    private let log: DiagnosticLog

    init?(_ node: Node, subject: String, log: DiagnosticLog) {
        guard case .mapping(let mapping) = node else {
            log.error(node.location, "\(subject) must be a mapping of fields, not \(node.kindName)")
            return nil
        }
        var pairs: [(String, FilePosition, Node)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                log.error(key.location, "\(subject) has a key that is \(key.kindName); keys are names")
                continue
            }
            pairs.append((scalar.string, key.location, value))
        }
        self.location = node.location
        self.subject = subject
        self.pairs = pairs
        self.log = log
    }

    /// The node of `key`, nil when absent (an error when `required`).
    mutating func node(_ key: String, required: Bool = false) -> Node? {
        asked.append(key)
        guard let pair = pairs.first(where: { $0.key == key }) else {
            if required { log.error(location, "\(subject) needs '\(key)'") }
            return nil
        }
        if case .alias = pair.value {
            log.error(pair.value.location, "'\(key)' of \(subject): YAML aliases are not supported; write the value out")
            return nil
        }
        return pair.value
    }

    /// True when the file has `key` (without marking it read).
    func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }

    /// Where `key` was written, or the mapping's own place.
    func location(of key: String) -> FilePosition {
        pairs.first { $0.key == key }?.keyLocation ?? location
    }

    mutating func string(_ key: String, required: Bool = false) -> Located<String>? {
        guard let node = node(key, required: required) else { return nil }
        return scalar(node, key: key)
    }

    /// One scalar or a list of scalars, as a list.
    mutating func strings(_ key: String, required: Bool = false) -> [Located<String>] {
        guard let node = node(key, required: required) else { return [] }
        if case .sequence(let sequence) = node {
            return sequence.compactMap { scalar($0, key: key) }
        }
        return scalar(node, key: key).map { [$0] } ?? []
    }

    mutating func bool(_ key: String) -> Located<Bool>? {
        guard let text = string(key) else { return nil }
        switch text.value {
        case "true": return Located(true, at: text.location)
        case "false": return Located(false, at: text.location)
        default:
            log.error(text.location, "'\(key)' of \(subject) must be true or false, not '\(text.value)'")
            return nil
        }
    }

    /// A whole number in `range`.
    mutating func int(_ key: String, in range: ClosedRange<Int>, required: Bool = false) -> Located<Int>? {
        guard let text = string(key, required: required) else { return nil }
        guard let value = Int(text.value), range.contains(value) else {
            log.error(text.location, "'\(key)' of \(subject) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text.value)'")
            return nil
        }
        return Located(value, at: text.location)
    }

    /// One of `choices`, spelt as listed.
    mutating func choice(_ key: String, _ choices: [String], required: Bool = false) -> Located<String>? {
        guard let text = string(key, required: required) else { return nil }
        guard choices.contains(text.value) else {
            let hint = suggestion(for: text.value, among: choices).map { "; did you mean '\($0)'?" } ?? ""
            log.error(text.location, "'\(key)' of \(subject) must be one of \(choices.joined(separator: ", ")), not '\(text.value)'\(hint)")
            return nil
        }
        return text
    }

    /// A field whose text must name a case of `Value` (its raw value), read as that case.
    mutating func choice<Value: RawRepresentable & CaseIterable>(_ key: String, as _: Value.Type) -> Located<Value>?
        where Value.RawValue == String {
        guard let text = choice(key, Value.allCases.map(\.rawValue)), let value = Value(rawValue: text.value) else { return nil }
        return Located(value, at: text.location)
    }

    /// The items of a list field (a missing field is an empty list).
    mutating func list(_ key: String, required: Bool = false) -> [Node] {
        guard let node = node(key, required: required) else { return [] }
        guard case .sequence(let sequence) = node else {
            log.error(node.location, "'\(key)' of \(subject) must be a list, not \(node.kindName)")
            return []
        }
        return Array(sequence)
    }

    /// A mapping of the file's own keys to single values (tags): each key with its value.
    mutating func tags(_ key: String = "tags") -> [TagSpec] {
        guard let node = node(key) else { return [] }
        guard let mapping = MappingReader(node, subject: "'\(key)' of \(subject)", log: log) else { return [] }
        return mapping.pairs.compactMap { pair in
            mapping.scalar(pair.value, key: pair.key).map { TagSpec(key: Located(pair.key, at: pair.keyLocation), value: $0) }
        }
    }

    /// Reports every field that was not asked for, suggesting the nearest known one.
    func finish() {
        for pair in pairs where !asked.contains(pair.key) {
            let hint = suggestion(for: pair.key, among: asked).map { "; did you mean '\($0)'?" } ?? ""
            log.error(pair.keyLocation, "unknown field '\(pair.key)' in \(subject)\(hint)")
        }
    }

    private func scalar(_ node: Node, key: String) -> Located<String>? {
        guard case .scalar(let scalar) = node else {
            log.error(node.location, "'\(key)' of \(subject) must be a single value, not \(node.kindName)")
            return nil
        }
        return Located(scalar.string, at: node.location)
    }
}
