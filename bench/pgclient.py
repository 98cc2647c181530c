"""Minimal PostgreSQL client over libpq (ctypes), so the benchmark needs no pip packages:
Debian's libpq5 (a dependency of libpq-dev and postgresql-15) is enough."""
import ctypes
import ctypes.util

_lib = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
_lib.PQconnectdb.restype = ctypes.c_void_p
_lib.PQconnectdb.argtypes = [ctypes.c_char_p]
_lib.PQstatus.argtypes = [ctypes.c_void_p]
_lib.PQerrorMessage.restype = ctypes.c_char_p
_lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
_lib.PQfinish.argtypes = [ctypes.c_void_p]
_lib.PQexec.restype = ctypes.c_void_p
_lib.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_lib.PQsendQuery.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_lib.PQresultStatus.argtypes = [ctypes.c_void_p]
_lib.PQresultErrorMessage.restype = ctypes.c_char_p
_lib.PQresultErrorMessage.argtypes = [ctypes.c_void_p]
_lib.PQntuples.argtypes = [ctypes.c_void_p]
_lib.PQnfields.argtypes = [ctypes.c_void_p]
_lib.PQgetvalue.restype = ctypes.c_char_p
_lib.PQgetvalue.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_lib.PQgetisnull.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_lib.PQclear.argtypes = [ctypes.c_void_p]

CONNECTION_OK = 0
PGRES_COMMAND_OK = 1
PGRES_TUPLES_OK = 2


class PgError(Exception):
    pass


class Conn:
    def __init__(self, dsn):
        self._c = _lib.PQconnectdb(dsn.encode())
        if _lib.PQstatus(self._c) != CONNECTION_OK:
            message = _lib.PQerrorMessage(self._c).decode(errors="replace").strip()
            _lib.PQfinish(self._c)
            self._c = None
            raise PgError(f"cannot connect ({dsn}): {message}")

    def query(self, sql):
        """Runs sql (several statements allowed); returns the last result's rows as lists of
        str/None."""
        result = _lib.PQexec(self._c, sql.encode())
        try:
            status = _lib.PQresultStatus(result)
            if status not in (PGRES_COMMAND_OK, PGRES_TUPLES_OK):
                message = _lib.PQresultErrorMessage(result).decode(errors="replace").strip()
                raise PgError(f"{message}\n  in: {sql[:300]}")
            rows = []
            for r in range(_lib.PQntuples(result)):
                rows.append([None if _lib.PQgetisnull(result, r, f)
                             else _lib.PQgetvalue(result, r, f).decode(errors="replace")
                             for f in range(_lib.PQnfields(result))])
            return rows
        finally:
            _lib.PQclear(result)

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def send(self, sql):
        """Sends a query without waiting for its result (for sessions left active)."""
        if not _lib.PQsendQuery(self._c, sql.encode()):
            raise PgError(_lib.PQerrorMessage(self._c).decode(errors="replace"))

    def close(self):
        if self._c:
            _lib.PQfinish(self._c)
            self._c = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
