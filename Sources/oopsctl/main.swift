import OopsConfig
print("oopsctl")
