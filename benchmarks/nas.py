"""Does hardware-aware search beat chapter 1's hand-designed baseline on the Nano 33 BLE Sense?

    .venv/bin/python benchmarks/nas.py            # full mode: a 9-minute search, 30-epoch retraining
    SCALEDOWN_QUICK=1 .venv/bin/python benchmarks/nas.py   # quick mode: a smoke run in about a minute

1. Regularised evolution over ``nas.SearchSpace()`` for at most ``--seconds`` of CPU time
   (full: 540 s, so that the last candidate in training still ends inside 10 CPU-minutes;
   CPU time, so that other jobs on a shared machine do not shrink the budget), every candidate
   checked against the Nano 33 BLE Sense *as int8* before it is trained (arena + reserved
   RAM <= 256 KB, weights + reserved flash <= 1 MB), scored by ``nas.ProxyFitness``.
2. The best candidate and the baseline (MobileNet v1, width 1.0, 32x32) are retrained with
   the same recipe (``nas.train_and_test``: 30 epochs, Adam 3e-3, cosine, the whole
   training split) for ``--seeds`` seeds, and scored on the test split, which the search
   never saw.

PyTorch runs on one thread, so on an idle machine wall time and CPU time agree; both are printed.
"""
import argparse
import statistics
import time

import scaledown
from scaledown import nas
from scaledown.hardware.targets import format_bytes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=scaledown.pick(full=540, quick=30))
    parser.add_argument("--candidates", type=int, default=scaledown.pick(full=500, quick=6))
    parser.add_argument("--proxy-epochs", type=int, default=scaledown.pick(full=4, quick=1))
    parser.add_argument("--proxy-images", type=int, default=scaledown.pick(full=0, quick=200),
                        help="training images per candidate; 0 for the whole pool")
    parser.add_argument("--epochs", type=int, default=scaledown.pick(full=30, quick=2))
    parser.add_argument("--seeds", type=int, default=scaledown.pick(full=3, quick=1))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    space = nas.SearchSpace()
    constraints = nas.Constraints(target="nano33ble", dtype="int8")
    fitness = nas.ProxyFitness(epochs=args.proxy_epochs, train_limit=args.proxy_images or None,
                               seed=args.seed, threads=1)
    print(f"mode: {'quick' if scaledown.quick_mode() else 'full'}; space of {space.size()} networks; "
          f"proxy {fitness}; budget {args.seconds:g} s or {args.candidates} candidates")

    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = nas.evolutionary_search(space, constraints, fitness, max_candidates=args.candidates,
                                     max_seconds=args.seconds, seed=args.seed, progress=False,
                                     clock=time.process_time)  # the budget is CPU time
    search_cpu, search_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(result.summary())
    print(f"search time: {search_wall:.0f} s wall, {search_cpu:.0f} s CPU ({search_cpu / 60:.1f} CPU-minutes)")
    print("\ntop 5 by proxy accuracy:")
    print(result.table(limit=5))
    for cost in ("peak_ram_bytes", "flash_bytes"):
        print(f"\nPareto front, accuracy vs {cost}:")
        print(result.table(result.front(cost)))
    if result.rejected:
        print(f"\nrejected before training ({len(result.rejected)}), first reasons:")
        for e in result.rejected[:3]:
            print(f"  {e.candidate.label}: {'; '.join(e.feasibility.reasons)}")

    best = result.best().candidate
    baseline = nas.baseline_candidate()
    print(f"\nretraining with the same recipe ({args.epochs} epochs, whole training split), "
          f"{args.seeds} seed(s) each:")
    scores = {}
    for name, candidate in (("found", best), ("baseline", baseline)):
        accuracies = []
        for seed in range(args.seeds):
            started = time.perf_counter()
            _, accuracy = nas.train_and_test(candidate, epochs=args.epochs, seed=seed, threads=1)
            accuracies.append(accuracy)
            print(f"  {name:<9}{candidate.label:<24} seed {seed}: test accuracy {accuracy:.2%} "
                  f"({time.perf_counter() - started:.0f} s)")
        scores[name] = accuracies

    print("\nresult:")
    for name, candidate in (("found", best), ("baseline", baseline)):
        f = constraints.check(candidate)
        mean = statistics.mean(scores[name])
        spread = statistics.stdev(scores[name]) if len(scores[name]) > 1 else 0.0
        print(f"  {name:<9}{candidate.label:<24} test {mean:.2%} ± {spread:.2%}  "
              f"RAM {format_bytes(f.peak_ram_bytes)} + {format_bytes(constraints.target.reserved_ram_bytes)}, "
              f"flash {format_bytes(f.flash_bytes)} + {format_bytes(constraints.target.reserved_flash_bytes)}, "
              f"{f.latency_s * 1000:.1f} ms, {f.macs:,} MACs, fits the Nano: {f.ok}")
    gain = statistics.mean(scores["found"]) - statistics.mean(scores["baseline"])
    fits = constraints.check(best).ok
    print(f"  found - baseline: {gain * 100:+.2f} points; fits nano33ble as int8: {fits}; "
          f"search {search_cpu / 60:.1f} CPU-minutes")
    if scaledown.quick_mode():
        print("quick mode: a smoke run of every step; the done-when check needs full mode")
    else:
        print("DONE-WHEN " + ("MET" if fits and gain > 0 and search_cpu <= 600 else "NOT MET"))


if __name__ == "__main__":
    main()
