import FuzzTargets

// The elf fuzz target (FuzzTargets.elf): libFuzzer's entry point, and a main that runs libFuzzer's driver.

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.elf(FuzzEntry.bytes(data, size))
    return 0
}

FuzzEntry.run(target: "elf", testOneInput)
