"""The run record: one directory per run, appended and flushed as things happen."""

from bench.record.model import Direction, FrameRecord, Verdict, VerdictRecord
from bench.record.writer import RunRecord

__all__ = ["Direction", "FrameRecord", "RunRecord", "Verdict", "VerdictRecord"]
