import SystemCalls

extension DumpMetadata {
    /// `breadcrumb`: the oopsd module's record of the oops (`Kernel/BREADCRUMB.md`) as metadata.json holds it, a
    /// flat object of numbers, names and registers as hex strings. The capture fills it from `VMCore.Breadcrumb`.
    public struct Breadcrumb: Equatable, Sendable {
        /// The die event's name, e.g. `DIE_OOPS`.
        public var event: String?
        /// The die string, e.g. `Oops` or `invalid opcode`.
        public var die: String?
        public var trap: Int64?
        public var signal: Int64?
        public var cpu: Int64?
        public var errorCode: UInt64?
        public var taint: UInt64?
        public var pid: Int64?
        public var tgid: Int64?
        /// The task's `comm`.
        public var command: String?
        public var oopsCount: Int64?
        public var realtimeNanoseconds: Int64?
        public var clockNanoseconds: Int64?
        /// The registers by lowercase name (`r15` … `ss`), in `pt_regs` order.
        public var registers: [Register] = []

        /// One register.
        public struct Register: Equatable, Sendable {
            public var name: String
            public var value: UInt64

            public init(name: String, value: UInt64) {
                self.name = name
                self.value = value
            }
        }

        public init() {}

        /// The keys of the breadcrumb's fields other than the registers: each spelled here only.
        public enum Key {
            public static let event = "event"
            public static let die = "die"
            public static let trap = "trap"
            public static let signal = "signal"
            public static let cpu = "cpu"
            public static let errorCode = "error_code"
            public static let taint = "taint"
            public static let pid = "pid"
            public static let tgid = "tgid"
            public static let command = "comm"
            public static let oopsCount = "oops_count"
            public static let realtimeNanoseconds = "realtime_ns"
            public static let clockNanoseconds = "clock_ns"
        }

        /// The keys of the fields that are not registers, in the order they are written.
        static let fieldKeys = [
            Key.event, Key.die, Key.trap, Key.signal, Key.cpu, Key.errorCode, Key.taint, Key.pid, Key.tgid, Key.command,
            Key.oopsCount, Key.realtimeNanoseconds, Key.clockNanoseconds,
        ]

        /// The breadcrumb as a flat object: numbers, and registers as hex strings.
        var json: JSONValue {
            func hex(_ value: UInt64?) -> JSONValue { value.map { .string("0x" + String($0, radix: 16)) } ?? .null }
            let values: [JSONValue] = [
                .optional(event), .optional(die), .optional(trap), .optional(signal), .optional(cpu), hex(errorCode),
                hex(taint), .optional(pid), .optional(tgid), .optional(command), .optional(oopsCount),
                .optional(realtimeNanoseconds), .optional(clockNanoseconds),
            ]
            return .object(Array(zip(Self.fieldKeys, values)) + registers.map { ($0.name, hex($0.value)) })
        }

        /// Reads a `breadcrumb` object; nil for any other value. Members other than the fields are registers
        /// when their value is a hex string.
        init?(json: JSONValue) {
            guard let members = json.objectMembers else { return nil }
            func hex(_ value: JSONValue?) -> UInt64? {
                guard let text = value?.stringValue, text.hasPrefix("0x") else { return nil }
                return UInt64(text.dropFirst(2), radix: 16)
            }
            event = json[Key.event]?.stringValue
            die = json[Key.die]?.stringValue
            trap = json[Key.trap]?.int64Value
            signal = json[Key.signal]?.int64Value
            cpu = json[Key.cpu]?.int64Value
            errorCode = hex(json[Key.errorCode])
            taint = hex(json[Key.taint])
            pid = json[Key.pid]?.int64Value
            tgid = json[Key.tgid]?.int64Value
            command = json[Key.command]?.stringValue
            oopsCount = json[Key.oopsCount]?.int64Value
            realtimeNanoseconds = json[Key.realtimeNanoseconds]?.int64Value
            clockNanoseconds = json[Key.clockNanoseconds]?.int64Value
            registers = members.filter { !Self.fieldKeys.contains($0.0) }.compactMap { name, value in
                hex(value).map { Register(name: name, value: $0) }
            }
        }

        /// Every field present as `key: text` (numbers in decimal, registers and masks as `0x…` hex), for reports.
        public var textFields: [String: String] {
            var fields: [String: String] = [:]
            for (key, value) in json.objectMembers ?? [] {
                switch value {
                case .string(let text): fields[key] = text
                case .int(let number): fields[key] = String(number)
                default: continue
                }
            }
            return fields
        }
    }
}
