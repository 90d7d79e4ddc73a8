import VMCore
import KernelInterfaces
import OopsConfig
