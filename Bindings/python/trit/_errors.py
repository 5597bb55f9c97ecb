class TritError(Exception):
    """An error reported by libtrit: ``status`` is the trit_status code, ``message`` its text."""

    STATUS_NAMES = {1: "invalid argument", 2: "input/output error", 3: "malformed file", 4: "unsupported",
                    5: "out of memory", 6: "invalid state", 7: "context full", 8: "cancelled",
                    9: "buffer too small", 10: "internal error"}

    def __init__(self, status, message=""):
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self):
        return f"{self.message} [{self.STATUS_NAMES.get(self.status, 'status %d' % self.status)}]"
