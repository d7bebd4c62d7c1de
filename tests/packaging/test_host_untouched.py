"""Runs last (conftest.py orders it): the packaging tests left the host as they found it.
The real installs happen in isolated roots, so the host's Jikimi files, systemd links and
dpkg entry are exactly what they were before the first test, whether or not Jikimi was on
this machine then."""

from conftest import HOST_BEFORE, HOST_PATHS, host_snapshot


def test_host_untouched():
    assert HOST_BEFORE, "no snapshot of the host was taken before the tests"
    after = host_snapshot()
    changed = {k: (HOST_BEFORE.get(k), after.get(k)) for k in after if HOST_BEFORE.get(k) != after.get(k)}
    assert not changed, f"the packaging tests changed the host: {changed}"
    assert set(after) == {"dpkg jikimi", "dpkg info", *HOST_PATHS}
