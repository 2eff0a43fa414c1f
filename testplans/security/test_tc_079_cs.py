"""TC_079_CS Get Security Log (docs/catalogue.md).

GetLog(SecurityLog, an upload location on the bench's file server: HTTP, or the setting
file_protocol) -> Accepted with a file
name; LogStatusNotification(Uploading) then (Uploaded), both with the requestId; the upload
reaches the bench complete, under that name, and holds lines that begin with a timestamp
(the whitepaper sets no format: the timestamp check is the bench's inference of "log").
"""

import asyncio
import time
from pathlib import Path

import pytest

from bench.files.model import Direction, FileServiceError
from testplans.ocpp import check_answer, expect, station_time
from testplans.security_steps import transfer_protocol

pytestmark = pytest.mark.octt("TC_079_CS", "Get Security Log", requires=("profile:Security",),
                              measures=("security.log_upload",))

REQUEST_ID = 79


async def test_tc_079_cs(case, station, files):
    protocol = transfer_protocol(case)
    servers = files([protocol])
    before = time.monotonic_ns()
    with case.step("GetLog(SecurityLog): Accepted"):
        res = await station.call("GetLog", {
            "logType": "SecurityLog", "requestId": REQUEST_ID,
            "log": {"remoteLocation": servers.upload_location(protocol)}})
        check_answer(case, res, "Accepted", "GetLog(SecurityLog)")
        filename = res.get("filename")
    with case.step("LogStatusNotification(Uploading) then (Uploaded)"):
        uploading = await expect(case, "LogStatusNotification", {"requestId": REQUEST_ID},
                                 after=res.sent_mono_ns, trigger="the GetLog")
        case.check(uploading.payload.get("status") == "Uploading",
                   "LogStatusNotification(Uploading) first",
                   f"sent status {uploading.payload.get('status')} (seq {uploading.seq})",
                   at=uploading.mono_ns)
        done = await expect(case, "LogStatusNotification", {"requestId": REQUEST_ID},
                            after=uploading, trigger="the LogStatusNotification(Uploading)")
        case.check(done.payload.get("status") == "Uploaded", "LogStatusNotification(Uploaded)",
                   f"sent status {done.payload.get('status')} (seq {done.seq})",
                   at=done.mono_ns)
    with case.step("the security log reached the bench's server"):
        try:  # the server may record the upload a moment after the station hears its end
            upload = await servers.wait_transfer(Direction.UPLOAD, after_ns=before,
                                                 within_s=case.setting("watch_s"),
                                                 complete=True)
        except FileServiceError as exc:
            case.check(False, f"a complete upload to the bench's {protocol} server with "
                       "LogStatusNotification(Uploaded)",
                       f"reported Uploaded (seq {done.seq}) but no file arrived ({exc})",
                       at=done.mono_ns)
        case.measure("security.log_upload", (done.mono_ns - res.sent_mono_ns) / 1e9,
                     evidence=[res.frame_seqs[0], done.seq])
        if filename:
            case.check(upload.name == filename, f"the upload named {filename!r} (GetLog.conf)",
                       f"uploaded {upload.name!r}")
        text = await asyncio.to_thread(Path(upload.path).read_text, "utf-8", "replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        stamped = [ln for ln in lines if station_time(ln.split(" ", 1)[0]) is not None]
        case.check(bool(lines) and len(stamped) == len(lines),
                   "a security log of timestamped lines (inference: the whitepaper sets no "
                   "format)", f"uploaded {len(lines)} line(s), {len(stamped)} timestamped")
