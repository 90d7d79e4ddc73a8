import FuzzTargets

// The kallsyms fuzz target (FuzzTargets.kallsyms): libFuzzer's entry point, and a main that runs libFuzzer's driver.

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.kallsyms(FuzzEntry.bytes(data, size))
    return 0
}

FuzzEntry.run(target: "kallsyms", testOneInput)
