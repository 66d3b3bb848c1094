"""`make bench`: wall time of onboardings on the emulation, one alone and 20 at once, and AWS call counts; the fleet
figures (adoption and reconciliation at fleet size, real time, AWS's rate limits on); the transform's throughput.

BENCH_FLEET="accounts,clusters,seeded sources" sets the fleet (default 20,500,10000: about 15 minutes here);
BENCH_FLEET=0 leaves it out (not the run of real pipelines, then spread over 20 accounts).
BENCH_REAL_SOURCES="sources,silent" sets the run of sources with real pipelines (default 10000,50: issue 21's size;
a smaller run extrapolates, `rate_bound_seconds_at_10000` being calls per source times 10,000);
BENCH_REAL_SOURCES=0 leaves it out."""

from __future__ import annotations

import logging
import os
import statistics
import time

from local.world import SOURCE_ACCOUNT, World

CONCURRENT = 20
REPEATS = 3
# Sources with real pipelines for the reconciliation figures, at the size issue 21 asks; of them, made silent in each
# way of local/fleet_real.py's SILENCING (ALTER DATABASE on at most POSTGRES_BACKED, each with a real PostgreSQL).
REAL_SOURCES, SILENT_SOURCES = 10_000, 50


def _one(world: World, cluster_id: str) -> float:
    started = time.perf_counter()
    execution = world.onboard(world.request(cluster_id), timeout=600)
    if execution.status != "SUCCEEDED":
        raise RuntimeError(f"{cluster_id}: {execution.error}: {execution.cause}")
    return time.perf_counter() - started


def run_bench() -> int:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    print("pgaudit-archiver bench (local emulation; ASL interpreted by moto, handlers in-process, poll interval 0 s)")
    with World() as world:
        singles = []
        for index in range(REPEATS):
            world.create_cluster(f"single-{index}", instances=2)
            mark = world.calls.mark()
            singles.append(_one(world, f"single-{index}"))
        first = world.calls.summary(mark)
        mark = world.calls.mark()
        rerun_seconds = _one(world, f"single-{REPEATS - 1}")
        rerun = world.calls.summary(mark)
        operations = world.calls.operations()

        for index in range(CONCURRENT):
            world.create_cluster(f"fleet-{index:02d}", instances=2)
        started = time.perf_counter()
        arns = [world.start_onboarding(world.request(f"fleet-{index:02d}")) for index in range(CONCURRENT)]
        results = [world.wait(arn, timeout=600) for arn in arns]
        concurrent_seconds = time.perf_counter() - started
        failed = [r.arn for r in results if r.status != "SUCCEEDED"]

    single = statistics.median(singles)
    print(f"one onboarding (median of {REPEATS}):        {single * 1000:8.0f} ms")
    print(f"rerun of an onboarded cluster:          {rerun_seconds * 1000:8.0f} ms")
    print(
        f"{CONCURRENT} onboardings started at once:      {concurrent_seconds * 1000:8.0f} ms"
        f"  ({concurrent_seconds / single:.1f}x one; {(failed and f'{len(failed)} failed') or 'all succeeded'})"
    )
    for label, counts in (("first onboarding", first), ("identical rerun", rerun)):
        for account, name in ((world.archive_account, "archive"), (SOURCE_ACCOUNT, "source")):
            c = counts.get(account, {"mutating": 0, "read": 0, "bookkeeping": 0})
            print(f"AWS calls, {label:<17} {name:>7} account: {c['mutating']:3d} changing, {c['read']:3d} read-only, "
                  f"{c['bookkeeping']:3d} registry writes")  # fmt: skip
    print("calls by operation over the whole run:")
    for operation, count in sorted(operations.items()):
        print(f"  {operation:<55} {count:5d}")
    fleet_ok = _fleet()
    # Imported here: the product's modules are first imported under a function's environment (Powertools reads
    # its settings at import), which the worlds above set up.
    from local.transform_bench import print_transform_bench  # noqa: PLC0415

    targets_met = print_transform_bench()
    print("transform targets met" if targets_met else "transform targets NOT met (see the figures above)")
    return 1 if failed or not fleet_ok else 0


FLEET_ACCOUNTS = 20


def _fleet() -> bool:
    setting = os.environ.get("BENCH_FLEET", f"{FLEET_ACCOUNTS},500,10000")
    if setting.strip() == "0":
        print("fleet: left out (BENCH_FLEET=0)")
        return _real_sources(FLEET_ACCOUNTS)
    accounts, clusters, seeded = (int(part) for part in setting.split(","))
    from local.fleet import print_fleet, run_fleet  # noqa: PLC0415

    result = run_fleet(accounts, clusters, seeded)
    print_fleet(result)
    adoption, large = result["adoption"], result["reconcile_large"]
    fleet_ok = adoption["failed"] == 0 and large["checked"] == large["registered"]
    return _real_sources(accounts) and fleet_ok


def _real_sources(accounts: int) -> bool:
    setting = os.environ.get("BENCH_REAL_SOURCES", f"{REAL_SOURCES},{SILENT_SOURCES}")
    if setting.strip() == "0":
        print("real pipelines: left out (BENCH_REAL_SOURCES=0)")
        return True
    count, silent = (int(part) for part in setting.split(","))
    from local.fleet import print_real_sources, source_accounts  # noqa: PLC0415
    from local.fleet_real import AT_SCALE, run_real_sources  # noqa: PLC0415

    result = run_real_sources(source_accounts(accounts), count, silent)
    if count != AT_SCALE:
        print(f"  (measured with {count:,} real sources, not {AT_SCALE:,}: the bound is their calls per source times "
              f"{AT_SCALE:,}, spread over {accounts} accounts as here)")  # fmt: skip
    print_real_sources(result)
    real = result["reconcile_real"]
    return real["checked"] == real["registered"] and real["rate_bound_seconds_at_10000"] <= real["target_seconds"]
