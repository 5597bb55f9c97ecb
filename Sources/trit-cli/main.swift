import Trit
print("trit")
