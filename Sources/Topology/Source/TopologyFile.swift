import Foundation

/// Reading topology files from disk.
public enum TopologyFile {
    public struct ReadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads and resolves the file at `path`. A file that cannot be read at all throws; a file
    /// with problems returns them as diagnostics.
    public static func read(_ path: String) throws(ReadError) -> TopologyLoad {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw ReadError(description: "\(path): " + (exists ? (isDirectory.boolValue ? "is a folder, not a topology file" : "cannot be read") : "no such file"))
        }
        return Topology.load(yaml: [UInt8](data))
    }
}
