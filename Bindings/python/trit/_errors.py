class TritError(Exception):
    """An error reported by libtrit: ``status`` is the trit_status code, ``message`` its text.
    str() adds the status's name as the library gives it (trit_status_string)."""

    def __init__(self, status, message=""):
        super().__init__(status, message)
        self.status = status
        self.message = message

    @property
    def status_name(self):
        from . import _trit   # imported late: the extension imports this module while it loads
        return _trit.status_string(self.status)

    def __str__(self):
        return f"{self.message} [{self.status_name}]"
