import DumpFormat

/// `report.txt` and `oopsctl info`: the report for people.
public enum ReportText {
    /// Renders the whole report.
    public static func render(_ report: Report) -> String {
        var lines: [String] = []
        func field(_ label: String, _ value: String) {
            lines.append((label + ":").padding(13) + value)
        }
        field("Dump", report.id)
        field("Path", report.path)
        field(
            "Status", report.complete ? "complete" : "INCOMPLETE" + (report.incompleteReason.map { " (\($0))" } ?? ""))
        if let applied = report.dumpLevelApplied {
            let requested = report.dumpLevelRequested ?? applied
            field("Dump level", applied == requested ? "\(applied)" : "\(applied) (\(requested) requested)")
        }
        for warning in report.captureWarnings ?? [] { field("Warning", warning) }
        field("Size", "\(ByteCount.text(report.sizeBytes)) (\(ByteCount.text(report.diskBytes)) on disk)")
        field("Kernel", report.kernelRelease ?? "unknown")
        var time = report.crashTimeUTC ?? "unknown"
        if let uptime = report.uptimeSeconds { time += ", uptime \(formatSeconds(uptime))" }
        field("Crashed", time)
        if let problem = report.problemLine { field("Problem", problem) }
        field("Panic", report.panicLine ?? "(no panic line in the log)")
        if let task = report.task {
            field(
                "Task",
                "\(task.command ?? "?") (PID \(task.pid.map(String.init) ?? "?"))"
                    + (task.cpu.map { " on CPU \($0)" } ?? ""))
        }
        if let letters = report.taintLetters {
            field("Tainted", letters.isEmpty ? "no" : letters)
            for flag in report.taint ?? [] {
                lines.append("".padding(13) + "\(flag.letter) \(flag.name): \(flag.meaning)")
            }
        }
        if let modules = report.modules {
            field("Modules", modules.isEmpty ? "(none)" : modules.joined(separator: " "))
        }
        field("Signature", report.signature)
        if !report.signatureFrames.isEmpty { field("Frames", report.signatureFrames.joined(separator: " < ")) }
        if let ripFromLog = report.ripFromLog { field("RIP (log)", ripFromLog) }

        if let crumb = report.breadcrumb, !crumb.isEmpty {
            lines.append("")
            lines.append("Breadcrumb (oopsd module):")
            for key in crumb.keys.sorted() { lines.append("  \(key) = \(crumb[key]!)") }
        }
        if let registers = report.registers {
            lines.append("")
            lines.append(
                "Registers (NT_PRSTATUS of CPU \(report.registersCPU ?? 0))"
                    + (report.rip.map { ", RIP \($0)" } ?? "") + ":")
            var row = ""
            for (index, register) in registers.enumerated() {
                row += (register.name.uppercased() + ":").padding(9) + register.value + "  "
                if index % 3 == 2 || index == registers.count - 1 {
                    lines.append("  " + row.trimmedTrailing())
                    row = ""
                }
            }
        }
        if !report.callTrace.isEmpty {
            lines.append("")
            lines.append("Call Trace (the kernel's, from the log):")
            for frame in report.callTrace { lines.append("  " + (frame.reliable ? "" : "? ") + frame.text) }
        }
        if !report.stackScan.isEmpty {
            lines.append("")
            lines.append(
                "Stack scan (text addresses on the crashing task's stack, innermost first; some may be stale):")
            for frame in report.stackScan { lines.append("  \(frame.stackAddress)  \(frame.address)  \(frame.symbol)") }
        }
        if !report.notes.isEmpty {
            lines.append("")
            lines.append("Notes:")
            for note in report.notes { lines.append("  - \(note)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `12.345678 s`.
    static func formatSeconds(_ seconds: Double) -> String {
        let micro = Int64((seconds * 1_000_000).rounded())
        let fraction = String(micro % 1_000_000)
        return "\(micro / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction) s"
    }
}

extension String {
    /// Pads with spaces to `width` characters (never truncates).
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func trimmedTrailing() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
