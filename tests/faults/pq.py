"""tests/faults/pq.py — the smallest libpq client the fault harness needs.

A ctypes binding of the system libpq (libpq5 comes with libpq-dev, a build
dependency), so the harness needs no Python driver package. ctypes releases
the GIL during every libpq call, so writer and monitor threads really run
in parallel.

Every query has a client-side deadline: a network fault can leave a
connection where nothing ever answers (a dropped link, a primary waiting for
its synchronous standby), and the harness must classify such an attempt as
*unknown* instead of waiting forever. The query is sent asynchronously and
the socket polled until the deadline; on expiry the connection is dropped.
"""
import ctypes
import ctypes.util
import select
import time

_lib = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
_lib.PQconnectdb.restype = ctypes.c_void_p
_lib.PQconnectdb.argtypes = [ctypes.c_char_p]
_lib.PQstatus.argtypes = [ctypes.c_void_p]
_lib.PQerrorMessage.restype = ctypes.c_char_p
_lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
_lib.PQfinish.argtypes = [ctypes.c_void_p]
_lib.PQsendQuery.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_lib.PQsocket.argtypes = [ctypes.c_void_p]
_lib.PQconsumeInput.argtypes = [ctypes.c_void_p]
_lib.PQisBusy.argtypes = [ctypes.c_void_p]
_lib.PQgetResult.restype = ctypes.c_void_p
_lib.PQgetResult.argtypes = [ctypes.c_void_p]
_lib.PQresultStatus.argtypes = [ctypes.c_void_p]
_lib.PQresultErrorMessage.restype = ctypes.c_char_p
_lib.PQresultErrorMessage.argtypes = [ctypes.c_void_p]
_lib.PQntuples.argtypes = [ctypes.c_void_p]
_lib.PQnfields.argtypes = [ctypes.c_void_p]
_lib.PQgetvalue.restype = ctypes.c_char_p
_lib.PQgetvalue.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_lib.PQgetisnull.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_lib.PQclear.argtypes = [ctypes.c_void_p]

# Server notices (e.g. "terminating connection due to immediate shutdown")
# would go to stderr by default; attempts are classified from results.
_NOTICE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)(lambda arg, msg: None)
_lib.PQsetNoticeProcessor.restype = ctypes.c_void_p
_lib.PQsetNoticeProcessor.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_void_p]

CONNECTION_OK = 0
PGRES_COMMAND_OK = 1
PGRES_TUPLES_OK = 2


class PqError(Exception):
    """A failed attempt. `unknown` is True when the statement may have been
    executed (sent, then the connection broke or the deadline passed)."""

    def __init__(self, text, unknown=False):
        super().__init__(text)
        self.text = text
        self.unknown = unknown


def _first_line(b):
    s = (b or b"").decode(errors="replace").strip()
    return s.splitlines()[0] if s else "(no message)"


class Conn:
    """One libpq connection. Not thread-safe: one per thread."""

    def __init__(self, host, port, password, user="postgres", dbname="postgres", connect_timeout=3,
                 options=""):
        # keepalives + tcp_user_timeout make a dead link fail fast at the TCP
        # level too; the query deadline below is the real bound.
        dsn = (f"host={host} port={port} user={user} dbname={dbname} password={password} "
               f"connect_timeout={connect_timeout} keepalives=1 keepalives_idle=2 "
               f"keepalives_interval=1 keepalives_count=2 tcp_user_timeout=4000 sslmode=disable")
        if options:
            dsn += f" options='{options}'"
        self._c = _lib.PQconnectdb(dsn.encode())
        if not self._c:
            raise PqError("out of memory")
        _lib.PQsetNoticeProcessor(self._c, ctypes.cast(_NOTICE_CB, ctypes.c_void_p), None)
        if _lib.PQstatus(self._c) != CONNECTION_OK:
            err = _first_line(_lib.PQerrorMessage(self._c))
            self.close()
            raise PqError(err)

    def close(self):
        if self._c:
            _lib.PQfinish(self._c)
            self._c = None

    def query(self, sql, timeout=5.0):
        """Runs sql; returns the rows (lists of str/None) of the last result.
        Raises PqError: unknown=False when the server reported an error (the
        statement did not commit), unknown=True when the outcome is unknown."""
        if not self._c:
            raise PqError("connection closed")
        if not _lib.PQsendQuery(self._c, sql.encode()):
            err = _first_line(_lib.PQerrorMessage(self._c))
            self.close()
            raise PqError(err, unknown=False)  # nothing was sent
        deadline = time.monotonic() + timeout
        fd = _lib.PQsocket(self._c)
        rows, error = None, None
        while True:
            while _lib.PQisBusy(self._c):
                left = deadline - time.monotonic()
                if left <= 0:
                    self.close()
                    raise PqError(f"no answer within {timeout:.0f}s", unknown=True)
                r, _, _ = select.select([fd], [], [], left)
                if r and not _lib.PQconsumeInput(self._c):
                    err = _first_line(_lib.PQerrorMessage(self._c))
                    self.close()
                    raise PqError(err, unknown=True)
            res = _lib.PQgetResult(self._c)
            if not res:
                break
            st = _lib.PQresultStatus(res)
            if st == PGRES_TUPLES_OK:
                rows = [[None if _lib.PQgetisnull(res, i, j) else _lib.PQgetvalue(res, i, j).decode()
                         for j in range(_lib.PQnfields(res))] for i in range(_lib.PQntuples(res))]
            elif st == PGRES_COMMAND_OK:
                rows = rows if rows is not None else []
            else:
                error = _first_line(_lib.PQresultErrorMessage(res))
            _lib.PQclear(res)
        if error is not None:
            # A server-reported error: with a lost connection libpq reports it
            # as a result too ("server closed the connection unexpectedly").
            broken = _lib.PQstatus(self._c) != CONNECTION_OK
            if broken:
                self.close()
            raise PqError(error, unknown=broken)
        return rows

    def __del__(self):
        self.close()
