import RemoteStorage
import SystemCalls

/// `/etc/machine-id`: names the machine in the remote layout `PREFIX/<machine-id>/<dump-id>/`.
public enum MachineID {
    /// The 32 hex digits of `/etc/machine-id` under `root`.
    public static func read(root: HostRoot) throws(UploadError) -> String {
        let path = root.path("/etc/machine-id")
        let text: String
        do { text = try FileSystem.readText(path) } catch {
            throw .localFile(path: path, message: "cannot read the machine ID: \(error)")
        }
        let id = text.trimming(" \t\r\n")
        guard id.count == 32, id.allSatisfy({ $0.isHexDigit }) else {
            throw .localFile(path: path, message: "expected 32 hex digits, found \"\(id)\"")
        }
        return id
    }
}
