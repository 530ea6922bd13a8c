import ArgumentParser
import Foundation
import Topology

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a topology file from a description of an AWS network.",
        subcommands: [ImportCloudFormation.self, ImportAWS.self]
    )
}

struct ImportCloudFormation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudformation",
        abstract: "Make a topology file from a CloudFormation template (YAML or JSON).",
        discussion: """
            Reads the template's VPCs, subnets, route tables and routes, internet gateways, \
            security groups and their rules, instances and network interfaces (as hosts), prefix \
            lists, load balancers (network and gateway) with their target groups and listeners, \
            endpoint services with their permissions, and VPC endpoints. Parameters take their \
            defaults unless given; conditions are evaluated; intrinsic functions (short and long \
            forms) resolve as in the topology's region and account. What cannot be resolved or is \
            not modelled is a warning at FILE:LINE:COLUMN of the template, and the rest is still \
            imported. The topology goes to standard output (or --output), with comments where \
            Privet chose what the template did not say; a summary goes to standard error. Check \
            the result with `privet validate`.
            """
    )

    @Argument(help: "The CloudFormation template.")
    var template: String

    @Option(name: .customLong("parameter"), help: "A template parameter's value, KEY=VALUE (repeatable).")
    var parameters: [String] = []

    @Option(name: .customLong("import-value"), help: "What Fn::ImportValue gives for an export, NAME=VALUE (repeatable).")
    var importValues: [String] = []

    @Option(help: "The region the stack is in (AWS::Region).")
    var region = "us-east-1"

    @Option(help: "The account the stack is in (AWS::AccountId): 12 digits.")
    var account = "123456789012"

    @Option(help: "The stack's name (AWS::StackName).")
    var stackName = "privet"

    @Option(help: "Write the topology here instead of standard output.")
    var output: String?

    func pairs(_ texts: [String], option: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for text in texts {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw ValidationError("--\(option) '\(text)': expected NAME=VALUE")
            }
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return result
    }

    func run() throws {
        guard account.count == 12, account.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ValidationError("--account '\(account)': an account ID is 12 digits")
        }
        guard let data = FileManager.default.contents(atPath: template) else {
            throw CLIError("\(template): no such file, or it cannot be read")
        }
        var importer = CloudFormationImport()
        importer.region = region
        importer.accountID = account
        importer.stackName = stackName
        importer.parameters = try pairs(parameters, option: "parameter")
        importer.importValues = try pairs(importValues, option: "import-value")
        let result = importer.run(template: [UInt8](data))
        printDiagnostics(result.diagnostics, file: template)
        guard result.spec != nil, !result.diagnostics.contains(where: { $0.severity == .error }) else {
            throw CLIError("\(template): nothing imported")
        }
        try writeImport(result, source: template, to: output)
    }
}

/// The imported topology to `output` (standard output when nil), then the notes and the summary
/// on standard error.
func writeImport(_ result: TopologyImport, source: String, to output: String?) throws {
    let yaml = result.yaml(source: (source as NSString).lastPathComponent)
    if let output {
        do { try yaml.write(toFile: output, atomically: true, encoding: .utf8) } catch {
            throw CLIError("\(output): cannot be written: \(error.localizedDescription)")
        }
    } else {
        print(yaml, terminator: "")
    }
    writeToStandardError("\(source): \(result.summary)\n")
}

struct ImportAWS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aws",
        abstract: "Make a topology file from a snapshot of an account taken with the AWS CLI.",
        discussion: """
            DIRECTORY holds the JSON the AWS CLI prints, one file per command, named after it: \
            describe-availability-zones.json, describe-vpcs.json, describe-subnets.json, \
            describe-route-tables.json, describe-security-groups.json, \
            describe-network-interfaces.json, describe-instances.json, \
            describe-managed-prefix-lists.json, describe-vpc-endpoints.json, \
            describe-vpc-endpoint-service-configurations.json, \
            describe-vpc-endpoint-connections.json (aws ec2), and describe-load-balancers.json, \
            describe-listeners.json, describe-target-groups.json, describe-target-health.json \
            (aws elbv2; a command run once per load balancer or target group may append its \
            outputs to one file, target health in the order of describe-target-groups). A missing \
            file is skipped with a note. The real IDs, names (Name tags) and addresses are kept; \
            what Privet chose is written as comments. The README gives the commands.
            """
    )

    @Argument(help: "The folder of the snapshot's JSON files.")
    var directory: String

    @Option(help: "Write the topology here instead of standard output.")
    var output: String?

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("\(directory): no such folder")
        }
        let result = AWSSnapshotImport().run(directory: directory)
        for note in result.notes { writeToStandardError("\(directory): \(note)\n") }
        guard result.spec != nil else { throw CLIError("\(directory): nothing imported") }
        try writeImport(result, source: directory, to: output)
    }
}
