#!/usr/bin/python3
"""Regenerates every golden file: /usr/bin/python3 tools/golden/gen_goldens.py [family ...]

Each module in families/ defines build() -> Family. Outputs go to tests/golden/data/.
"""
import importlib
import os
import pkgutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "golden", "data")


def main():
    torch.manual_seed(0)
    sys.path.insert(0, HERE)
    wanted = set(sys.argv[1:])
    families = sorted(m.name for m in pkgutil.iter_modules([os.path.join(HERE, "families")]))
    for name in families:
        if wanted and name not in wanted:
            continue
        module = importlib.import_module(f"families.{name}")
        family = module.build()
        count = family.write(OUT)
        print(f"{family.name}: {count} cases")


if __name__ == "__main__":
    main()
