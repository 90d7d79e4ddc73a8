import FuzzTargets

// The vmcoreinfo fuzz target (FuzzTargets.vmcoreinfo): libFuzzer's entry point, and a main that runs libFuzzer's driver.

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.vmcoreinfo(FuzzEntry.bytes(data, size))
    return 0
}

FuzzEntry.run(target: "vmcoreinfo", testOneInput)
