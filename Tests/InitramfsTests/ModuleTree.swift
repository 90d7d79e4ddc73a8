import SystemCalls

#if canImport(Glibc)
import Glibc
#endif

/// Runs a shell command; returns its exit status and standard output.
func shell(_ command: String) -> (status: Int32, output: String) {
    guard let pipe = popen(command, "r") else { return (-1, "") }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&buffer, 1, buffer.count, pipe)
        if count <= 0 { break }
        output += buffer[0..<count]
    }
    let status = pclose(pipe)
    return ((status >> 8) & 0xff, String(decoding: output, as: UTF8.self))
}

/// The directory of this source file (for the prepare script).
let testSourceDirectory = Path.parent(#filePath)

/// The unpacked and depmod-indexed module tree of Debian 12's current stock kernel, obtained by the prepare script
/// if missing (its last output line is "<tree> <release>").
func debianModuleTree() throws -> (root: String, release: String) {
    let result = shell("\(testSourceDirectory)/prepare-module-tree.sh 2>&1")
    guard result.status == 0 else { throw SystemError("prepare-module-tree.sh: \(result.output)", errno: 0) }
    let fields = result.output.split(separator: "\n").last?.split(separator: " ").map(String.init) ?? []
    guard fields.count == 2 else {
        throw SystemError("prepare-module-tree.sh printed no '<tree> <release>' line: \(result.output)", errno: 0)
    }
    return (fields[0], fields[1])
}
