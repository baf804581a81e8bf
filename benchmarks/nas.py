"""Does hardware-aware search beat chapter 1's hand-designed baseline on the Nano 33 BLE Sense?

    .venv/bin/python benchmarks/nas.py            # full mode: a 9-minute search, 30-epoch retraining
    SCALEDOWN_QUICK=1 .venv/bin/python benchmarks/nas.py   # quick mode: a smoke run in about a minute (3 seeds on 300 images)

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

import _results

import scaledown
from scaledown.compress import nas
from scaledown.foundations.hardware.targets import format_bytes


def _costs(constraints, candidate) -> dict:
    """The candidate's knobs and its int8 costs on the target, as plain values."""
    f = constraints.check(candidate)
    c = candidate
    words = f"MobileNet {c.family[-2:]}, width {c.width:g}, depth {c.depth:g}, {c.kernel_size}×{c.kernel_size} kernels"
    words += f", expansion {c.expansion}" if c.family == "mobilenet_v2" else ""
    words += f", {c.resolution}×{c.resolution} inputs"
    return {
        "label": candidate.label,
        "description": words,
        "family": candidate.family,
        "width": candidate.width,
        "depth": candidate.depth,
        "kernel_size": candidate.kernel_size,
        "expansion": candidate.expansion if candidate.family == "mobilenet_v2" else None,
        "resolution": candidate.resolution,
        "parameters": f.parameters,
        "macs": f.macs,
        "peak_ram_bytes": f.peak_ram_bytes,
        "flash_bytes": f.flash_bytes,
        "peak_ram_kb": f.peak_ram_bytes / 1024,
        "flash_kb": f.flash_bytes / 1024,
        "flash_mb": f.flash_bytes / 1024**2,
        "latency_ms": f.latency_s * 1000,
        "fits": f.ok,
    }


def _evaluation(constraints, e) -> dict:
    return {**_costs(constraints, e.candidate), "index": e.index, "proxy_accuracy": e.accuracy}


def _scores(accuracies) -> dict:
    return {
        "seeds": accuracies,
        "mean": statistics.mean(accuracies),
        "stdev": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
        "spread": max(accuracies) - min(accuracies),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=scaledown.pick(full=540, quick=30))
    parser.add_argument("--candidates", type=int, default=scaledown.pick(full=500, quick=6))
    parser.add_argument("--proxy-epochs", type=int, default=scaledown.pick(full=4, quick=1))
    parser.add_argument(
        "--proxy-images",
        type=int,
        default=scaledown.pick(full=0, quick=200),
        help="training images per candidate; 0 for the whole pool",
    )
    parser.add_argument("--epochs", type=int, default=scaledown.pick(full=30, quick=2))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--train-images",
        type=int,
        default=scaledown.pick(full=0, quick=300),
        help="training images for the final retraining; 0 for the whole training split",
    )
    parser.add_argument("--seed", type=int, default=0)
    _results.add_option(parser)
    args = parser.parse_args()
    wall_start = time.perf_counter()

    space = nas.SearchSpace()
    constraints = nas.Constraints(target="nano33ble", dtype="int8")
    fitness = nas.ProxyFitness(
        epochs=args.proxy_epochs, train_limit=args.proxy_images or None, seed=args.seed, threads=1
    )
    print(
        f"mode: {'quick' if scaledown.quick_mode() else 'full'}; space of {space.size()} networks; "
        f"proxy {fitness}; budget {args.seconds:g} s or {args.candidates} candidates"
    )

    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = nas.evolutionary_search(
        space,
        constraints,
        fitness,
        max_candidates=args.candidates,
        max_seconds=args.seconds,
        seed=args.seed,
        progress=False,
        clock=time.process_time,
    )  # the budget is CPU time
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
    baseline_proxy = fitness(baseline)  # the baseline scored by the same proxy, after the search's budget
    print(f"\nbaseline {baseline.label} on the proxy: {baseline_proxy:.1%}")
    print(
        f"\nretraining with the same recipe ({args.epochs} epochs, "
        f"{f'{args.train_images} training images' if args.train_images else 'the whole training split'}), "
        f"{args.seeds} seed(s) each:"
    )
    scores = {}
    for name, candidate in (("found", best), ("baseline", baseline)):
        accuracies = []
        for seed in range(args.seeds):
            started = time.perf_counter()
            _, accuracy = nas.train_and_test(
                candidate, epochs=args.epochs, seed=seed, threads=1, limit=args.train_images or None
            )
            accuracies.append(accuracy)
            print(
                f"  {name:<9}{candidate.label:<24} seed {seed}: test accuracy {accuracy:.2%} "
                f"({time.perf_counter() - started:.0f} s)"
            )
        scores[name] = accuracies

    print("\nresult:")
    for name, candidate in (("found", best), ("baseline", baseline)):
        f = constraints.check(candidate)
        mean = statistics.mean(scores[name])
        spread = statistics.stdev(scores[name]) if len(scores[name]) > 1 else 0.0
        print(
            f"  {name:<9}{candidate.label:<24} test {mean:.2%} ± {spread:.2%}  "
            f"RAM {format_bytes(f.peak_ram_bytes)} + {format_bytes(constraints.target.reserved_ram_bytes)}, "
            f"flash {format_bytes(f.flash_bytes)} + {format_bytes(constraints.target.reserved_flash_bytes)}, "
            f"{f.latency_s * 1000:.1f} ms, {f.macs:,} MACs, fits the Nano: {f.ok}"
        )
    gain = statistics.mean(scores["found"]) - statistics.mean(scores["baseline"])
    fits = constraints.check(best).ok
    print(
        f"  found - baseline: {gain * 100:+.2f} points; fits nano33ble as int8: {fits}; "
        f"search {search_cpu / 60:.1f} CPU-minutes"
    )
    if scaledown.quick_mode():
        print("quick mode: a smoke run of every step; the figures the book quotes need full mode")

    target = constraints.target
    ranked = sorted(result.evaluated, key=lambda e: (-e.accuracy, e.index))
    top_accuracy = ranked[0].accuracy
    found_costs, baseline_costs = _costs(constraints, best), _costs(constraints, baseline)
    flash_front = result.front("flash_bytes")
    # the most accurate model of the flash front that needs no more flash and no more time than the baseline
    cheaper = [
        e
        for e in flash_front
        if e.feasibility.flash_bytes <= baseline_costs["flash_bytes"]
        and e.feasibility.latency_s * 1000 <= baseline_costs["latency_ms"]
    ]
    cheaper = max(cheaper, key=lambda e: (e.accuracy, -e.index)) if cheaper else flash_front[0]
    largest = nas.Candidate(
        "mobilenet_v2",
        max(space.widths),
        max(space.depths),
        max(space.kernel_sizes),
        max(space.expansions),
        max(space.resolutions),
    )
    largest_check = constraints.check(largest)
    x_proxy, _, x_val, _ = fitness.data(baseline.resolution)
    from scaledown.foundations.datasets import load_digits

    test_images = len(load_digits(size=baseline.resolution, layout="NCHW", seed=0).y_test)
    found_scores, baseline_scores = _scores(scores["found"]), _scores(scores["baseline"])
    results = {
        "space_size": space.size(),
        "settings": {
            "seconds": args.seconds,
            "candidates": args.candidates,
            "proxy_epochs": args.proxy_epochs,
            "proxy_images": args.proxy_images,
            "epochs": args.epochs,
            "seeds": args.seeds,
            "train_images": args.train_images,
            "seed": args.seed,
        },
        "data": {
            "proxy_train_images": len(x_proxy),
            "validation_images": len(x_val),
            "test_images": test_images,
            "one_test_image": 1 / test_images,
        },
        "target": {
            "id": target.id,
            "ram_bytes": target.ram_bytes,
            "flash_bytes": target.flash_bytes,
            "reserved_ram_bytes": target.reserved_ram_bytes,
            "reserved_flash_bytes": target.reserved_flash_bytes,
            "reserved_ram_kb": target.reserved_ram_bytes / 1024,
            "reserved_flash_kb": target.reserved_flash_bytes / 1024,
            "ram_limit_bytes": constraints.ram_limit_bytes,
            "flash_limit_bytes": constraints.flash_limit_bytes,
        },
        "search": {
            "method": result.method,
            "trained": len(result.evaluated),
            "rejected": len(result.rejected),
            "steps": len(result.history),
            "stopped_by": result.stopped_by,
            "cpu_seconds": search_cpu,
            "cpu_minutes": search_cpu / 60,
            "wall_seconds": search_wall,
            "top_accuracy": top_accuracy,
            "top_tied": sum(1 for e in ranked if e.accuracy == top_accuracy),
            "top5": [_evaluation(constraints, e) for e in ranked[:5]],
            "top5_lowest_accuracy": ranked[:5][-1].accuracy,
        },
        "rejected": {
            "count": len(result.rejected),
            "over_flash": sum(1 for e in result.rejected if e.feasibility.flash_bytes > constraints.flash_limit_bytes),
            "over_ram": sum(1 for e in result.rejected if e.feasibility.peak_ram_bytes > constraints.ram_limit_bytes),
            "labels": [e.candidate.label for e in result.rejected],
            "reasons": ["; ".join(e.feasibility.reasons) for e in result.rejected],
        },
        "largest": {
            **_costs(constraints, largest),
            "flash_over_bytes": largest_check.flash_bytes - constraints.flash_limit_bytes,
            "flash_over_kb": (largest_check.flash_bytes - constraints.flash_limit_bytes) / 1024,
        },
        "fronts": {
            cost: [_evaluation(constraints, e) for e in result.front(cost)]
            for cost in ("peak_ram_bytes", "flash_bytes")
        },
        "cheaper_on_flash_front": _evaluation(constraints, cheaper),
        "found": {**found_costs, "proxy_accuracy": result.best().accuracy, "test": found_scores},
        "baseline": {**baseline_costs, "proxy_accuracy": baseline_proxy, "test": baseline_scores},
        "difference": {
            "mean_points": gain * 100,
            "mean": gain,
            "largest_seed_spread_points": 100 * max(found_scores["spread"], baseline_scores["spread"]),
            "flash_ratio": found_costs["flash_bytes"] / baseline_costs["flash_bytes"],
            "parameters_ratio": found_costs["parameters"] / baseline_costs["parameters"],
            "macs_ratio": found_costs["macs"] / baseline_costs["macs"],
            "latency_ratio": found_costs["latency_ms"] / baseline_costs["latency_ms"],
            "peak_ram_ratio": found_costs["peak_ram_bytes"] / baseline_costs["peak_ram_bytes"],
            "found_fits": fits,
        },
    }
    _results.save(
        "nas", results, path=args.results, quick=scaledown.quick_mode(), seconds=time.perf_counter() - wall_start
    )


if __name__ == "__main__":
    main()
