"""TC_045_1_CS Get Diagnostics (docs/catalogue.md; OCTT p66).

GetDiagnostics(location = an upload folder of the bench's server, over the first protocol of
SupportedFileTransferProtocols) -> .conf with fileName (OCTT expects one; OCPP 1.6 §6.23 leaves
it out only when there is no diagnostic information); DiagnosticsStatusNotification Uploading
-> Uploaded; the server received the file complete under the name fileName gave, and it lies
on disk not empty and readable as what its name says (an archive's members are listed).
"""

from pathlib import Path

import pytest

from bench.files import Direction
from bench.files.model import safe_name
from testplans.firmware_steps import (
    DSN,
    describe_transfers,
    file_protocol,
    first_status,
    get_diagnostics,
    next_status,
    readable_archive,
    seconds_between,
    size_on_disk,
    transfers_of,
)

pytestmark = pytest.mark.octt("TC_045_1_CS", "Get Diagnostics",
                              requires=("profile:FirmwareManagement",),
                              measures=("triggered.get_diagnostics", "diagnostics.upload_s",
                                        "diagnostics.transfer_s"))


async def test_tc_045_1_cs(case, station, files):
    protocol = await file_protocol(case)
    svc = files([protocol])
    with case.step(f"GetDiagnostics to the bench's {protocol} server: fileName"):
        res = await get_diagnostics(case, svc.upload_location(protocol))
        name = res.get("fileName")
        case.check(bool(name), "GetDiagnostics.conf with the fileName it will upload",
                   f"answered {res.payload!r} (seq {res.frame_seqs[1]})",
                   at=res.answered_mono_ns)
    with case.step("DiagnosticsStatusNotification Uploading, then Uploaded"):
        uploading = await first_status(case, DSN, "Uploading", res, "triggered.get_diagnostics")
        uploaded = await next_status(case, DSN, "Uploaded", after=uploading,
                                     within=float(case.setting("diagnostics_timeout_s")))
        case.measure("diagnostics.upload_s", seconds_between(uploading, uploaded),
                     evidence=[uploading.seq, uploaded.seq])
    with case.step(f"the file {name!r} on the bench's disk: complete, not empty, readable"):
        received = await transfers_of(case, svc, Direction.UPLOAD, res.sent_mono_ns)
        wanted = safe_name(str(name))
        named = [t for t in received if t.complete and t.name.endswith(wanted)]
        case.check(bool(named), f"a complete upload named {name!r}",
                   f"the server received {describe_transfers(received)}", at=uploaded.mono_ns)
        upload = named[0]
        case.measure("diagnostics.transfer_s", upload.seconds)
        path = Path(str(upload.path))
        size = size_on_disk(path)
        case.check(size == upload.bytes > 0, f"{upload.name} on disk, not empty",
                   f"uploaded {upload.bytes} B; on disk: "
                   f"{'missing' if size is None else f'{size} B'}", at=uploaded.mono_ns)
        ok, what = readable_archive(path)
        case.check(ok, f"{upload.name} readable as its name says", what, at=uploaded.mono_ns)
        case.passed(f"{upload.name}: {upload.bytes} B, {what}")
