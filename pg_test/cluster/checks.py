"""The one-line-per-check reporting the Python cluster tests share."""

passed = failed = 0


def check(name, condition, detail=""):
    """An assert that reports and carries on, so one run shows every failure.
    detail may be a function: it is then only called on failure."""
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        detail = detail() if callable(detail) else detail
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))


def summary(what):
    """Prints `what: N passed, M failed`; returns the exit status."""
    print(f"{what}: {passed} passed, {failed} failed")
    return 1 if failed else 0
