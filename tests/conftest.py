"""Shared fixtures of the bench's own tests.

Real parts (pcscd, vpcd, chromium, pdftotext, postgres) are required in CI: a missing one fails
the test there and only skips it on a developer machine without it.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_real_part(name: str, present: bool, hint: str) -> None:
    """Fail in CI, skip elsewhere, when a real part the test needs is missing."""
    if present:
        return
    message = f"real part missing: {name} ({hint})"
    if IN_CI:
        pytest.fail(message + " -- CI must have every real part", pytrace=False)
    pytest.skip(message)


def _pcscd() -> str:
    path = shutil.which("pcscd")
    if path is None and os.path.exists("/usr/sbin/pcscd"):  # root's PATH may lack sbin
        path = "/usr/sbin/pcscd"
    require_real_part("pcscd", path is not None, "apt-get install pcscd vsmartcard-vpcd")
    assert path
    return path


def _vpcd() -> str:
    candidates = [
        "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
        "/usr/lib/x86_64-linux-gnu/pcsc/drivers/serial/libifdvpcd.so",
    ]
    found = next((p for p in candidates if os.path.exists(p)), None)
    require_real_part("vpcd driver", found is not None, "apt-get install vsmartcard-vpcd")
    assert found
    return found


@pytest.fixture
def pcscd_binary() -> str:
    return _pcscd()


@pytest.fixture
def vpcd_driver() -> str:
    return _vpcd()


@pytest.fixture(scope="session")
def real_run(tmp_path_factory):
    """One short `bench run` of the simulated rig (support/realrun.py), shared by the report
    tests of the whole session; read it, or copy it (`real_run.copy(tmp_path)`) to change it."""
    from support.realrun import make_real_run

    _pcscd(), _vpcd()
    return make_real_run(tmp_path_factory.mktemp("real-run"))


@pytest.fixture
def chromium_binary() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require_real_part("chromium", path is not None, "apt-get install chromium")
    assert path
    return path


@pytest.fixture
def pdftotext_binary() -> str:
    path = shutil.which("pdftotext")
    require_real_part("pdftotext", path is not None and shutil.which("pdfinfo") is not None,
                      "apt-get install poppler-utils")
    assert path
    return path


@pytest.fixture
def postgres_bindir():
    from pg_support import postgres_bindir as find

    bindir = find()
    require_real_part("postgres", bindir is not None and (bindir / "initdb").exists(),
                      "apt-get install postgresql")
    return bindir
