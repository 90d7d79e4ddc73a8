/// The text `vmcore-dmesg` (kexec-tools) prints for a log: one line per record, byte for byte.
public enum DmesgFormat {
    /// `[%5llu.%06llu] ` then the text with bytes that are neither printable nor space as `\xNN`, then `\n`.
    public static func line(_ record: PrintkRecord) -> [UInt8] {
        let seconds = record.timestampNanoseconds / 1_000_000_000
        let microseconds = record.timestampNanoseconds % 1_000_000_000 / 1000
        var line: [UInt8] = Array("[".utf8)
        let secondsText = String(seconds)
        line += [UInt8](repeating: UInt8(ascii: " "), count: max(0, 5 - secondsText.utf8.count))
        line += Array(secondsText.utf8)
        line.append(UInt8(ascii: "."))
        let microText = String(microseconds)
        line += [UInt8](repeating: UInt8(ascii: "0"), count: 6 - microText.utf8.count)
        line += Array(microText.utf8)
        line += Array("] ".utf8)
        for byte in record.text {
            // C-locale isprint (0x20...0x7e) or isspace (\t \n \v \f \r and space).
            if (0x20...0x7e).contains(byte) || (0x09...0x0d).contains(byte) {
                line.append(byte)
            } else {
                line += Array("\\x".utf8)
                let digits: [UInt8] = Array("0123456789abcdef".utf8)
                line.append(digits[Int(byte >> 4)])
                line.append(digits[Int(byte & 0xf)])
            }
        }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// The whole log as `vmcore-dmesg` prints it.
    public static func text(_ records: [PrintkRecord]) -> [UInt8] {
        var text: [UInt8] = []
        for record in records { text += line(record) }
        return text
    }
}
