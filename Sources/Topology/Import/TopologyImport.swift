/// What an import made: the topology file's spec, what Privet chose that the source did not say
/// (written as comments at the top of the file), the diagnostics located in the source, and
/// the counts for the summary.
public struct TopologyImport: Sendable {
    public var spec: TopologySpec?
    public var guesses: [String] = []
    public var diagnostics: [Diagnostic] = []
    /// What was left out or could not be read, said plainly (the AWS import's files).
    public var notes: [String] = []
    public var imported = 0
    public var skipped: [String] = []

    /// The topology file: a header naming the source, the guesses, then the spec.
    public func yaml(source: String) -> String {
        guard let spec else { return "" }
        let header = ["Imported by privet from \(source); `privet validate` checks it, `privet up` runs it."]
            + (guesses.isEmpty ? [] : ["Where the source did not say, Privet chose:"] + guesses.map { "  - " + $0 })
        return spec.yaml(header: header)
    }

    /// One line for standard error: resources imported, skipped, guessed.
    public var summary: String {
        "\(imported) resources imported, \(skipped.count) skipped, \(guesses.count) guessed"
    }
}
