"""Per-category failure counts of tests/test_soundness.py, from a tally file:

    GRADCHECK_SOUNDNESS_TALLY=/tmp/tally.jsonl python -m pytest tests/test_soundness.py -n 0 [--slow]
    python tests/soundness_tally.py /tmp/tally.jsonl [--examples N]

With the tally set, every generated example is run and recorded (one JSON line) instead of the first
failure stopping its property, so the counts cover the whole budget. --examples prints the N shortest
failing cases of each kind.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tally")
    parser.add_argument("--examples", type=int, default=0)
    args = parser.parse_args()
    with open(args.tally, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    examples: Counter = Counter()
    failures: Counter = Counter()
    kinds: dict[str, Counter] = defaultdict(Counter)
    wrong: Counter = Counter()
    wrong_passed: Counter = Counter()
    shortest: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        category = row["category"]
        examples[category] += 1
        if row["expect"] == "wrong":
            wrong[category] += 1
            wrong_passed[category] += row["exit"] == 0
        if not row["ok"]:
            failures[category] += 1
            kinds[category][row["kind"]] += 1
            shortest[(category, row["kind"])].append(row["case"].strip())
    print(f"{'category':16} {'examples':>8} {'failing':>8}  wrong claims that exit 0   failures by kind")
    for category in examples:
        print(f"{category:16} {examples[category]:8} {failures[category]:8}  "
              f"{wrong_passed[category]:5} of {wrong[category]:<17}  {dict(kinds[category])}")
    print(f"{'all':16} {sum(examples.values()):8} {sum(failures.values()):8}  "
          f"{sum(wrong_passed.values()):5} of {sum(wrong.values())}")
    for (category, kind), cases in sorted(shortest.items()):
        for case in sorted(set(cases), key=len)[:args.examples]:
            print(f"\n[{category}: {kind}]\n  {case}")


if __name__ == "__main__":
    main()
