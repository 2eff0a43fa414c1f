"""One bench, one owner (rule 23): the rig lock between real processes, and `bench run`
refusing a rig another run holds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_plans_support import REPO, SIM_RIG, bench_run, fast_plan

from bench.config.rig import load_rig
from bench.lock import LockBusy, acquire, lock_file_name, read_holder, rig_resources

HOLDER = """
import sys
from pathlib import Path
from bench.lock import acquire
lock = acquire(Path(sys.argv[1]), sys.argv[2].split(","), run_dir=sys.argv[3])
print("LOCKED", flush=True)
sys.stdin.read()  # hold until the test closes stdin or kills us
lock.release()
"""


class Holder:
    """Another process holding the lock, as a second bench run would."""

    def __init__(self, lock_dir: Path, resources: list[str], run_dir: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(lock_dir), ",".join(resources), run_dir],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == "LOCKED", f"holder did not lock: {line!r}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout):
            if f:
                f.close()


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Holder]:
    h = Holder(tmp_path / "locks", ["station:CP1", "tcp:10.0.0.2:502"], "runs/first-run")
    try:
        yield h
    finally:
        h.kill()


def test_resources_are_the_station_and_each_instrument_address_once() -> None:
    sim = rig_resources(load_rig(SIM_RIG))
    # ev1, ev2 and mains share one Modbus server: one lock for it
    assert sim == ["station:SMARTDC-SIM-01", "tcp:127.0.0.1:15020", "tcp:127.0.0.1:35963",
                   "visa:TCPIP::127.0.0.1::15025::SOCKET"]
    lab = rig_resources(load_rig(REPO / "rigs" / "lab-example.toml"))
    assert "tcp:192.168.10.21:502" in lab and "tcp:192.168.10.22:502" in lab
    assert "visa:TCPIP0::192.168.10.30::inst0::INSTR" in lab
    assert len(lab) == len(set(lab))
    assert lock_file_name("a/b") != lock_file_name("a_b")  # sanitising must not merge resources


def test_second_process_is_refused_naming_the_first(tmp_path: Path, holder: Holder) -> None:
    with pytest.raises(LockBusy) as exc:
        acquire(tmp_path / "locks", ["tcp:10.0.0.2:502", "station:CP9"])
    msg = str(exc.value)
    assert exc.value.resource == "tcp:10.0.0.2:502"
    assert f"pid {holder.proc.pid}" in msg and "runs/first-run" in msg, msg
    assert exc.value.holder and exc.value.holder["run_dir"] == "runs/first-run"
    # a refusal holds nothing: the free resource it took first is released again
    acquire(tmp_path / "locks", ["station:CP9"]).release()


def test_lock_is_released_when_the_holder_is_killed(tmp_path: Path, holder: Holder) -> None:
    with pytest.raises(LockBusy):
        acquire(tmp_path / "locks", ["station:CP1"])
    holder.kill()  # SIGKILL: no clean-up ran, the kernel drops the flock
    lock = acquire(tmp_path / "locks", ["station:CP1"], run_dir="second")
    try:
        path = lock.paths[0]
        assert read_holder(path)["pid"] == os.getpid()
        assert read_holder(path)["run_dir"] == "second"
        lock.set_owner(run_dir="runs/second-run")
        assert read_holder(path)["run_dir"] == "runs/second-run"
    finally:
        lock.release()
    assert read_holder(path) is None  # released: the file names nobody


def test_wait_lock_waits_for_the_holder_then_says_what_it_waited_for(
        tmp_path: Path, holder: Holder) -> None:
    with pytest.raises(LockBusy) as exc:
        acquire(tmp_path / "locks", ["station:CP1"], wait_s=0.3)
    assert "after waiting 0.3 s" in str(exc.value) and f"pid {holder.proc.pid}" in str(exc.value)

    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(
        acquire(tmp_path / "locks", ["station:CP1"], wait_s=60)))
    waiter.start()
    holder.kill()
    waiter.join(60)
    assert not waiter.is_alive() and got, "the waiter did not get the lock after the holder died"
    got[0].release()  # type: ignore[attr-defined]


def test_a_removed_lock_file_counts_as_lost(tmp_path: Path) -> None:
    lock = acquire(tmp_path / "locks", ["station:CP1", "tcp:h:1"])
    try:
        assert lock.lost() == []
        lock.paths[0].unlink()
        assert lock.lost() == ["station:CP1"]
    finally:
        lock.release()


def test_bench_run_refuses_a_locked_rig_at_once(tmp_path: Path) -> None:
    """`--lock` forces the lock on the simulated rig (as for a shared sim); the test holds it
    as another run would. The refusal comes before anything is brought up or recorded."""
    lock_dir = tmp_path / "locks"
    resources = rig_resources(load_rig(SIM_RIG))
    held = Holder(lock_dir, resources, "runs/the-other-run")
    try:
        plan = str(fast_plan(tmp_path))
        res = bench_run(tmp_path, "--plan", plan, "--cases", "TC_019_CS", "--lock",
                        "--lock-dir", str(lock_dir), timeout=60)
        assert res.rc == 2, res.stdout + res.stderr
        assert "is in use" in res.stderr and f"pid {held.proc.pid}" in res.stderr, res.stderr
        assert "runs/the-other-run" in res.stderr and "station:SMARTDC-SIM-01" in res.stderr
        assert res.run_dir is None, "a refused run must not leave a run directory"

        res = bench_run(tmp_path, "--plan", plan, "--cases", "TC_019_CS", "--lock",
                        "--lock-dir", str(lock_dir), "--wait-lock", "0.5", timeout=60)
        assert res.rc == 2 and "waiting up to 0.5 s" in res.stderr, res.stderr
        assert "after waiting 0.5 s" in res.stderr, res.stderr
    finally:
        held.kill()
