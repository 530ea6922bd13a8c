import ArgumentParser

@main
struct Privet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privet",
        abstract: "AWS PrivateLink on one Linux machine: a userspace dataplane in Swift.",
        subcommands: [Inspect.self, Demo.self]
    )
}
