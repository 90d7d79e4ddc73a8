import OopsConfig
print("oopsd: not yet implemented")
