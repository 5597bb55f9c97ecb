class Closing:
    """`with` support and a finalizer for objects that own a libtrit handle: both call close()."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
