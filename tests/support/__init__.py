"""Record generators for the bench's own tests and benchmarks: not part of the product.

The reports package only reads run directories; what writes made-up ones lives here:

- `scripted`: a station and the bench exchanging frames on a simulated clock;
- `samplerun`: a short Core campaign record (complete, failed, cut off, hostile);
- `soakgen`: a 24-hour soak record (about 90k frames), the report builder's load;
- `nightgen`: nights of the core plan, for `bench history`.

Tests import it as `support.<module>` (tests/ is on their path); benchmarks put tests/ on
theirs. From the repository root each generator also runs as a program:
`python -m tests.support.samplerun RUNS_DIR`, `python -m tests.support.soakgen RUNS_DIR`,
`python -m tests.support.nightgen RUNS_DIR --nights 100`.
"""
