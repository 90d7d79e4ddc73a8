import Capture
print("oopsd-capture: not yet implemented")
