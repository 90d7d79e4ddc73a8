import FuzzTargets

// The printk fuzz target (FuzzTargets.printk): libFuzzer's entry point, and a main that runs libFuzzer's driver.

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.printk(FuzzEntry.bytes(data, size))
    return 0
}

FuzzEntry.run(target: "printk", testOneInput)
