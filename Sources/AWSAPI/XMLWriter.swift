/// Builds the XML documents the Query protocol answers with: elements in order, text escaped
/// (XML 1.0 §2.4: `&`, `<`, `>`; quotes too, harmlessly).
struct XMLWriter {
    private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

    mutating func element(_ name: String, namespace: String? = nil, _ body: (inout XMLWriter) -> Void) {
        text += namespace.map { "<\(name) xmlns=\"\($0)\">" } ?? "<\(name)>"
        body(&self)
        text += "</\(name)>"
    }

    /// A leaf element; none at all when `value` is nil (an absent field).
    mutating func value(_ name: String, _ value: String?) {
        guard let value else { return }
        text += "<\(name)>\(XMLWriter.escaped(value))</\(name)>"
    }

    mutating func value(_ name: String, _ value: Bool) { self.value(name, value ? "true" : "false") }

    mutating func value(_ name: String, _ value: Int) { self.value(name, String(value)) }

    /// A list: `name` holding one `member` element each (EC2's `item`, ELBv2's `member`).
    mutating func list<Element>(_ name: String, member: String, _ elements: [Element],
                                _ body: (inout XMLWriter, Element) -> Void) {
        element(name) { writer in
            for element in elements { writer.element(member) { body(&$0, element) } }
        }
    }

    /// A list of strings.
    mutating func strings(_ name: String, member: String, _ values: [String]) {
        element(name) { writer in
            for value in values { writer.value(member, value) }
        }
    }

    static func escaped(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
