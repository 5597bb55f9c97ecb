"""A small GGUF reader/writer for tests: parse a file's header into (key, type, value) entries,
change entries, and write the file back with the tensor data re-aligned."""
import struct

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<B",
          U64: "<Q", I64: "<q", F64: "<d"}


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.b[self.o:self.o + n]
        self.o += n
        return s

    def value(self, t):
        if t in SCALAR:
            return self.take(SCALAR[t])
        if t == STRING:
            return self.string()
        et, n = self.take("<I"), self.take("<Q")
        return (et, [self.value(et) for _ in range(n)])


def write_value(t, v):
    if t in SCALAR:
        return struct.pack(SCALAR[t], v)
    if t == STRING:
        return struct.pack("<Q", len(v)) + v
    et, items = v
    return struct.pack("<IQ", et, len(items)) + b"".join(write_value(et, x) for x in items)


class GGUF:
    def __init__(self, data):
        r = Reader(data)
        assert r.take("<I") == 0x46554747, "not a GGUF file"
        self.version = r.take("<I")
        n_tensors, n_kv = r.take("<Q"), r.take("<Q")
        self.kv = []  # [key(bytes), type, value]
        for _ in range(n_kv):
            k = r.string()
            t = r.take("<I")
            self.kv.append([k, t, r.value(t)])
        self.tensors = []  # raw tensor-info bytes
        for _ in range(n_tensors):
            start = r.o
            r.string()
            nd = r.take("<I")
            r.o += 8 * nd + 4 + 8
            self.tensors.append(data[start:r.o])
        self.alignment = 32
        for k, t, v in self.kv:
            if k == b"general.alignment" and t == U32:
                self.alignment = v
        self.data = data[(r.o + self.alignment - 1) // self.alignment * self.alignment:]

    def to_bytes(self, alignment=None):
        a = alignment or self.alignment
        out = struct.pack("<IIQQ", 0x46554747, self.version, len(self.tensors), len(self.kv))
        for k, t, v in self.kv:
            out += struct.pack("<Q", len(k)) + k + struct.pack("<I", t) + write_value(t, v)
        out += b"".join(self.tensors)
        out += b"\0" * ((-len(out)) % a)
        return out + self.data


def load(path):
    with open(path, "rb") as f:
        return GGUF(f.read())
