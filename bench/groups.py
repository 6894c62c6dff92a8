"""Group lists on MovieLens: each strategy's group HR@10 and worst-member HR@10 on similar
and dissimilar synthetic groups, beside each member's own list (see
`likewise.evaluation.groups` for the protocol and the definitions).

    python bench/groups.py                  # ML-1M, 300 groups of each kind, MiniLM, both spaces
    python bench/groups.py --dataset ml-100k --groups 100 --model hashing-256
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from likewise.evaluation.groups import GroupRequest, run_groups, table
from likewise.evaluation.plan import Progress


@contextmanager
def bars(total: int, what: str) -> Iterator[Progress]:
    with tqdm(total=total, desc=what, unit="", leave=False) as bar:
        yield bar.update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m", choices=["ml-1m", "ml-100k"])
    parser.add_argument("--groups", type=int, default=300, help="groups of each kind")
    parser.add_argument("--users", type=int, help="keep the first N users only")
    parser.add_argument("--model", default="minilm", help="embedding model (default minilm)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--spaces", default="text,behaviour", help="spaces scored (default text,behaviour)"
    )
    args = parser.parse_args()
    request = GroupRequest(
        dataset=args.dataset,
        groups=args.groups,
        users=args.users,
        model=args.model,
        seed=args.seed,
        spaces=tuple(args.spaces.split(",")),
    )
    print(table(run_groups(request, bars=bars), request))


if __name__ == "__main__":
    main()
