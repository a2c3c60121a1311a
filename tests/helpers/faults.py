"""Small helpers shared by the chaos tests."""
from loadtests.run.bank import free_port  # noqa: F401 - one free_port for every test


def caused_by(exc: BaseException, kind: type) -> bool:
    """Whether `kind` is anywhere in an exception's args or chain (requests nests them)."""
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return False


def wsgi_call(app, path="/hello", method="GET", headers=None, body=b""):
    """Call a WSGI app in-process; return (status, headers dict, body bytes).
    `path` is PATH_INFO as given, so "//health" stays "//health" (a URL parser would
    read "health" as a host)."""
    from werkzeug.test import EnvironBuilder
    environ = EnvironBuilder(path="/", method=method, headers=headers or {},
                             data=body).get_environ()
    environ["PATH_INFO"] = path
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)
        return lambda data: None
    result = app(environ, start_response)
    try:
        payload = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return seen["status"], seen["headers"], payload
