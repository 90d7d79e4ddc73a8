/// The oopsd version written into every dump's metadata.
public enum ToolVersion {
    /// The release of oopsd this capture side belongs to.
    public static let current = "0.1.0-dev"
}
