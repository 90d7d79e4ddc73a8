import DumpFormat
import VMCore

extension DumpMetadata.Breadcrumb {
    /// The breadcrumb read from the dump, as metadata.json records it: registers by their lowercase
    /// `PRStatus.RegisterName`, masks as hex.
    init(_ crumb: VMCore.Breadcrumb) {
        self.init()
        event = crumb.eventName
        die = crumb.dieString
        trap = Int64(crumb.trapNumber)
        signal = Int64(crumb.signal)
        cpu = Int64(crumb.cpu)
        errorCode = crumb.errorCode
        taint = crumb.taint
        pid = Int64(crumb.pid)
        tgid = Int64(crumb.tgid)
        command = crumb.command
        oopsCount = Int64(crumb.oopsCount)
        realtimeNanoseconds = Int64(bitPattern: crumb.realtimeNanoseconds)
        clockNanoseconds = Int64(bitPattern: crumb.clockNanoseconds)
        for (index, value) in crumb.registers.enumerated() {
            guard let name = PRStatus.RegisterName(rawValue: index) else { break }
            registers.append(Register(name: "\(name)".lowercased(), value: value))
        }
    }
}
