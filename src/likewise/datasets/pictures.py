"""A small shop catalog with pictures, drawn by likewise itself (CC0; see PICTURES.md).

48 products: mugs, shirts, posters and tote bags, each in four colours and three patterns
(plain, striped, dotted), drawn with Pillow as 224x224 PNGs on white. Nothing is downloaded
and the drawing is deterministic: the same files every time, so a demo or a test can make
them at run time instead of the repository carrying binaries.

The titles say what a product is and its pattern, never its colour ("Striped mug: Harbour"),
and the colour is a metadata field. By text the nearest items are the same kind; by picture
(EfficientNet-Lite0, trained on ImageNet, weighs shape and texture above colour) the same
pattern, sometimes on another kind of product: blending the two spaces ranks the items near
in both first. Needs Pillow (the `likewise[images]` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from likewise.errors import ConfigError

__all__ = ["COLOURS", "KINDS", "PATTERNS", "draw_catalog"]

SIZE = 224  # the image model's input: nothing is lost to resizing
COLOURS = {
    "red": (205, 35, 45),
    "blue": (35, 75, 200),
    "green": (40, 150, 70),
    "yellow": (235, 190, 30),
}
PATTERNS = ("plain", "striped", "dotted")
KINDS = ("mug", "shirt", "poster", "tote bag")
NAMES = (
    "Harbour", "Meadow", "Ember", "Atlas", "Juniper", "Orbit", "Saffron", "Tundra",
    "Willow", "Cobalt", "Dune", "Fjord", "Marble", "Pebble", "Quartz", "Rowan",
)  # fmt: skip
WORD = {"plain": "Plain", "striped": "Striped", "dotted": "Dotted"}
ABOUT = {
    "mug": "a ceramic mug for coffee or tea, 350 ml, dishwasher safe",
    "shirt": "a cotton t-shirt with short sleeves, unisex fit",
    "poster": "an art print on matte paper, 50 x 70 cm, ready to frame",
    "tote bag": "a canvas tote bag with long handles for shopping",
}


def draw_catalog(folder: Path) -> list[dict[str, Any]]:
    """Draw the 48 pictures into `folder` (made if missing; files of the same name are
    overwritten) and return the catalog's records, each naming its picture by file name
    (relative: read inside the `image_folder` setting, which should be `folder`)."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ConfigError(
            "the pictures demo draws with Pillow: pip install 'likewise[images]'"
        ) from None
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for k, (kind, pattern, colour) in enumerate(
        (kind, pattern, colour) for kind in KINDS for pattern in PATTERNS for colour in COLOURS
    ):
        mask = Image.new("L", (SIZE, SIZE), 0)
        _silhouette(ImageDraw.Draw(mask), kind)
        fill = Image.new("RGB", (SIZE, SIZE), COLOURS[colour])
        _pattern(ImageDraw.Draw(fill), pattern)
        picture = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
        picture.paste(fill, (0, 0), mask)
        outline = ImageDraw.Draw(picture)
        if kind == "mug":  # the handle, in the mug's colour
            outline.arc((130, 80, 190, 150), -90, 90, fill=COLOURS[colour], width=12)
        if kind == "tote bag":
            outline.arc((72, 20, 152, 110), 180, 360, fill=(120, 90, 60), width=8)
        item_id = f"{kind.replace(' ', '-')}-{pattern}-{colour}"
        name = f"{item_id}.png"
        picture.save(folder / name, optimize=True)
        records.append(
            {
                "id": item_id,
                "title": f"{WORD[pattern]} {kind}: {NAMES[k % len(NAMES)]}",
                "body": ABOUT[kind],
                "category": kind,
                "colour": colour,
                "pattern": pattern,
                "image": name,
            }
        )
    return records


def _silhouette(draw: Any, kind: str) -> None:
    """The product's shape, in white on the mask."""
    if kind == "mug":
        draw.rounded_rectangle((50, 60, 150, 180), radius=14, fill=255)
    elif kind == "shirt":
        draw.polygon(
            [(70, 40), (95, 30), (129, 30), (154, 40), (200, 80), (178, 108), (160, 95),
             (160, 195), (64, 195), (64, 95), (46, 108), (24, 80)],
            fill=255,
        )  # fmt: skip
    elif kind == "poster":
        draw.rectangle((40, 20, 184, 204), fill=255)
    else:  # a tote bag
        draw.rectangle((45, 90, 179, 205), fill=255)


def _pattern(draw: Any, pattern: str) -> None:
    """White stripes or dots over the colour (none for plain)."""
    if pattern == "striped":
        for x in range(0, SIZE, 28):
            draw.rectangle((x, 0, x + 11, SIZE), fill=(255, 255, 255))
    elif pattern == "dotted":
        for y in range(8, SIZE, 26):
            for x in range(8 + (y // 26 % 2) * 13, SIZE, 26):
                draw.ellipse((x, y, x + 10, y + 10), fill=(255, 255, 255))
