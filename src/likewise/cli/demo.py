"""`likewise demo`: MovieLens-1M titles and real users' ratings, then (optionally) the API;
`likewise demo --pictures`: a shop catalog with pictures, related by text, picture and both."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tqdm import tqdm

from likewise.cli.common import open_engine
from likewise.cli.options import Renamed, shared
from likewise.errors import InvalidInput

SubParsers = Any  # argparse's _SubParsersAction is private

DEMO_TITLES = (
    "Toy Story (1995)",
    "Star Wars: Episode IV - A New Hope (1977)",
    "Godfather, The (1972)",
    "Silence of the Lambs, The (1991)",
    "Matrix, The (1999)",
)


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    help = "Load MovieLens-1M titles and ratings; show related titles and recommendations."
    p = sub.add_parser("demo", parents=[shared(common, json=False)], help=help, description=help)
    p.add_argument("--items", type=int, metavar="N", help="load only the first N titles")
    p.add_argument("--limit", dest="items", type=int, action=Renamed, new="--items")
    p.add_argument(
        "--users",
        type=int,
        default=200,
        metavar="N",
        help="how many users' ratings to replay, the first N (default 200)",
    )
    p.add_argument(
        "--pictures",
        action="store_true",
        help="instead: a shop catalog of 48 pictures likewise draws (needs likewise[images]); "
        "related items by text, by picture, and the two blended",
    )
    p.add_argument("--serve", action="store_true", help="then serve the API on 127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000)")
    p.set_defaults(handler=demo)


def demo(args: argparse.Namespace) -> int:
    from likewise.datasets import movielens_items, movielens_ratings

    if args.pictures:
        return pictures(args)
    for name in ("items", "users"):
        value = getattr(args, name)
        if value is not None and value < (1 if name == "items" else 0):
            raise InvalidInput("must be a positive number", field=f"--{name}")
    records = movielens_items("ml-1m")[: args.items]
    with open_engine(args, create=True) as engine:
        print(f"Loading {len(records):,} MovieLens-1M titles into {args.data} ...")
        with tqdm(total=len(records), desc="embed", file=sys.stderr, disable=None) as bar:
            report = engine.add_items(records, progress=bar.update)
        print("  ".join(f"{k}: {v}" for k, v in report.as_dict().items()))
        known = {r["id"] for r in records}
        ratings = [e for e in movielens_ratings("ml-1m", users=args.users) if e["item_id"] in known]
        if ratings:
            _replay(engine, ratings)
            print("\nTraining the models (item-kNN, EASE, next-item, behaviour space) ...")
            info = engine.train()
            print(f"  {info['items']:,} items, {info['users']:,} users")
        for title in DEMO_TITLES:
            if engine.get_many([title]):
                what = "content and behaviour" if ratings else "content"
                print(f"\nRelated to {title} ({what}):")
                for hit in engine.similar(title, n=5):
                    print(f"  {hit.score:.3f}  {hit.id}")
        if ratings:
            user = ratings[0]["user_id"]
            print(f"\nFor user {user} (the first of {args.users} replayed), hybrid strategy:")
            for rec in engine.recommend(user, n=5, strategy="hybrid", track=False).items:
                print(f"  {rec.score:.3f}  {rec.id}  ({rec.reason})")
    if args.serve:
        _serve(args, _movie_calls(args, ratings[0]["user_id"] if ratings else "1m_1"))
    else:
        print("\nTry: likewise --data", args.data, 'search "space adventure for kids"')
        print("     make demo serves the HTTP API too (likewise demo --serve)")
    return 0


# The related lists the pictures demo prints: text alone, the picture alone, and both.
BLENDS = {
    "by text": {"text": 1.0},
    "by picture": {"image": 1.0},
    "blended": {"text": 0.5, "image": 0.5},
}
PICTURE_ITEMS = ("mug-striped-red", "shirt-dotted-blue", "tote-bag-plain-yellow")


def pictures(args: argparse.Namespace) -> int:
    """Draw the catalog (datasets/pictures.py) into the cache folder, ingest it with its
    pictures embedded into `image`, and print each example's neighbours side by side."""
    from likewise.config import Settings
    from likewise.datasets.pictures import draw_catalog
    from likewise.embedders.image import cache_dir

    folder = cache_dir() / "pictures"
    records = draw_catalog(folder)  # ConfigError without Pillow, before a store is made
    settings = Settings(image_folder=str(folder))
    with open_engine(args, create=True, settings=settings) as engine:
        print(f"Loading {len(records)} products, their pictures drawn into {folder} ...")
        report = engine.add_items(records)  # ConfigError without the image model
        print("  ".join(f"{k}: {v}" for k, v in report.as_dict().items()))
        width = 30
        for item in PICTURE_ITEMS:
            lists = [engine.similar(item, n=4, spaces=w) for w in BLENDS.values()]
            print(f"\nRelated to {item} ({engine.get(item).title}):")
            print("  " + "".join(f"{name:<{width}}" for name in BLENDS))
            for row in zip(*lists, strict=False):
                print("  " + "".join(f"{f'{h.score:.2f} {h.id}':<{width}}" for h in row))
    if args.serve:
        base = f"http://127.0.0.1:{args.port}"
        _serve(
            args, [f"  curl '{base}/v1/items/{PICTURE_ITEMS[0]}/similar?spaces=text:0.5,image:0.5'"]
        )
    else:
        print("\nTry: likewise --data", args.data, "similar mug-plain-red --spaces image:1")
    return 0


def _replay(engine: Any, ratings: list[dict[str, Any]]) -> None:
    print(f"\nReplaying {len(ratings):,} real ratings as events ...")
    with tqdm(total=len(ratings), desc="events", file=sys.stderr, disable=None) as bar:
        for start in range(0, len(ratings), 5_000):
            report = engine.record_many(ratings[start : start + 5_000])
            bar.update(report.accepted + report.duplicates)


def _movie_calls(args: argparse.Namespace, user: str) -> list[str]:
    """What to try against the MovieLens demo's server."""
    base = f"http://127.0.0.1:{args.port}"
    quoted = user.replace(" ", "%20")
    return [
        f"  curl '{base}/v1/users/{quoted}/recommendations?n=5'",
        f"  curl '{base}/v1/items/Toy%20Story%20(1995)/similar?n=5'",
        f"  curl -X POST {base}/v1/search -H 'Content-Type: application/json' "
        '-d \'{"text": "space adventure for kids", "n": 5}\'',
        f"  curl -X POST {base}/v1/events -H 'Content-Type: application/json' "
        f'-d \'{{"user_id": "{user}", "item_id": "Toy Story (1995)", "type": "like"}}\'',
        f"  curl '{base}/v1/reports/ctr'",
    ]


def _serve(args: argparse.Namespace, calls: list[str]) -> None:
    from likewise.cli.serve import serve

    base = f"http://127.0.0.1:{args.port}"
    print(f"\nOpen {base}/  (the demo site; dashboard: {base}/dashboard, API docs: {base}/docs)")
    print("Ctrl-C stops the server.")
    print("Try, in another terminal:")
    print("\n".join(calls))
    sys.stdout.flush()
    args.host = "127.0.0.1"
    args.site = True
    args.workers = 1
    args.log_level = "info"  # what `serve` takes as options and the demo does not offer
    serve(args)
