#!/usr/bin/env python3
"""Prints median throughput per benchmark and the ratio of our path to the raw baseline.

Pairs: BM_Ironflow<Op>/<size> with BM_RawEvp<Op>/<size>, BM_ApiSecret<Op> with BM_RawKv<Op>, and
BM_ApiConfig<Op> / BM_ApiCounter<Op> with BM_RawConfig<Op> / BM_RawCounter<Op>, and BM_Https<Op> (the API over
TLS) with BM_Api<Op> (plain HTTP).
Ratio = our items (or bytes) per second / raw items (or bytes) per second, from the medians.
"""
import json
import sys


def medians(path):
    out = {}
    with open(path) as f:
        for b in json.load(f)["benchmarks"]:
            if b.get("aggregate_name") != "median":
                continue
            name = b["run_name"]
            rate = b.get("bytes_per_second") or b.get("items_per_second")
            out[name] = (rate, "B/s" if "bytes_per_second" in b else "ops/s")
    return out


def pair_of(name):
    if name.startswith("BM_Ironflow"):
        return name.replace("BM_Ironflow", "BM_RawEvp", 1)
    if name.startswith("BM_ResolveTenDeclaredSecrets"):
        return name.replace("BM_ResolveTenDeclaredSecrets", "BM_RawKvGetTen", 1)
    if name.startswith("BM_Https"):  # TLS against plain HTTP, same API call
        return name.replace("BM_Https", "BM_Api", 1)
    if name.startswith("BM_ApiSecretGetMetadata"):
        return name.replace("BM_ApiSecretGetMetadata", "BM_RawKvGet", 1)
    if name.startswith("BM_ApiConfig") or name.startswith("BM_ApiCounter"):
        return name.replace("BM_Api", "BM_Raw", 1)
    if name.startswith("BM_ApiSecret"):
        return name.replace("BM_ApiSecret", "BM_RawKv", 1)
    return None


def human(rate, unit):
    if unit == "B/s":
        return f"{rate / 1e6:9.1f} MB/s"
    return f"{rate:9.0f} ops/s"


def main():
    data = {}
    for p in sys.argv[1:]:
        data.update(medians(p))
    print(f"{'ours':45} {'median':>14}   {'raw baseline':45} {'median':>14}   ratio")
    for name, (rate, unit) in sorted(data.items()):
        raw = pair_of(name)
        if raw is None or raw not in data:
            continue
        raw_rate = data[raw][0]
        print(f"{name:45} {human(rate, unit):>14}   {raw:45} {human(raw_rate, unit):>14}   {rate / raw_rate:5.2f}x")


if __name__ == "__main__":
    main()
