"""What an embedder plugin provides, and likewise's own, registered the same way.

A distribution adds models by naming a *factory* in the `likewise.embedders` entry point group
of its pyproject.toml::

    [project.entry-points."likewise.embedders"]
    mymodel = "my_plugin:factory"

The model names `mymodel`, `mymodel:<argument>` and `mymodel-<argument>` then reach
`factory(argument)` (the argument is "" for the bare name), which returns an
:class:`~likewise.embedders.base.Embedder`. Its `model_id` is what a new store records and is
looked up again each time the store opens, so it must be a name the same factory answers to.
A factory that takes a keyword argument `embedding` is also handed the remote embedder's
settings (:class:`~likewise.config.embedding.EmbeddingConfig`), as the `openai` one is: like
pluggy's hooks, a factory receives only what it asks for. An optional `describe()` returns the
:class:`ModelInfo` rows `likewise models` shows, so that listing loads no weights and calls no
server.

Likewise's own factories live here and are listed in its pyproject.toml like anyone else's,
so a plugin is never second to them and `likewise models` tells where each comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from likewise.embedders.base import Embedder
from likewise.embedders.multilingual import MODEL_ID as MULTILINGUAL_ID
from likewise.embedders.onnx import MODEL_ID as MINILM_ID
from likewise.errors import ConfigError

if TYPE_CHECKING:
    from likewise.config.embedding import EmbeddingConfig

__all__ = [
    "MINILM_DIM",
    "Hashing",
    "Image",
    "MiniLM",
    "ModelInfo",
    "Multilingual",
    "OpenAI",
    "Vectors",
    "hashing",
    "image",
    "minilm",
    "multilingual",
    "openai",
    "vectors",
]

MINILM_DIM = 384
MULTILINGUAL_DIM = 384
IMAGE_DIM = 1280  # embedders/image.py's, repeated: listing the models imports no numpy graph
IMAGE_ID = "efficientnet-lite0"
# The largest dimension of a team's own text vectors, as a declared space's over HTTP
# (service/schemas.py): pgvector's HNSW index takes vectors of up to 2,000 numbers.
MAX_OWN_DIM = 2000


@dataclass(frozen=True)
class ModelInfo:
    """One row of `likewise models`: a name the factory answers to (or a pattern of names,
    such as `hashing-<dim>`), its dimension when known without building it (None: it depends
    on the name or on the server), and a few words on what it is."""

    name: str
    dim: int | None
    note: str = ""


class MiniLM:
    """`minilm`: the packaged all-MiniLM-L6-v2 (int8 ONNX), offline; the default model.
    Stores record it as `all-MiniLM-L6-v2-onnx-int8`, an entry point of its own."""

    def describe(self) -> list[ModelInfo]:
        return [
            ModelInfo("minilm", MINILM_DIM, "all-MiniLM-L6-v2, int8 ONNX, packaged: offline"),
            ModelInfo(MINILM_ID, MINILM_DIM, "the id a store records for minilm"),
        ]

    def __call__(self, argument: str) -> Embedder:
        if argument:
            raise ConfigError(f"model minilm takes no argument, not {argument!r}")
        from likewise.embedders.onnx import MiniLMEmbedder  # the weights load on first use

        return MiniLMEmbedder()


class Hashing:
    """`hashing` (64 dimensions) and `hashing-<dim>`: words hashed into buckets, for tests."""

    def describe(self) -> list[ModelInfo]:
        return [
            ModelInfo("hashing", 64, "words hashed into buckets: instant, for tests"),
            ModelInfo("hashing-<dim>", None, "the same with <dim> buckets, 2..4096"),
        ]

    def __call__(self, argument: str) -> Embedder:
        from likewise.embedders.hashing import HashingEmbedder

        dim = argument or "64"
        if not dim.isdigit() or not 2 <= int(dim) <= 4096:
            raise ConfigError(f"model 'hashing-{argument}': hashing dimension must be 2..4096")
        return HashingEmbedder(int(dim))


class Multilingual:
    """`multilingual`: multilingual-e5-small (4-bit, about 100 languages in one space), offline,
    from the `likewise[multilingual]` extra. Stores record it as `multilingual-e5-small-q4`,
    an entry point of its own."""

    def describe(self) -> list[ModelInfo]:
        note = "multilingual-e5-small, 4-bit, ~100 languages: pip install 'likewise[multilingual]'"
        return [
            ModelInfo("multilingual", MULTILINGUAL_DIM, note),
            ModelInfo(MULTILINGUAL_ID, MULTILINGUAL_DIM, "the id a store records for multilingual"),
        ]

    def __call__(self, argument: str) -> Embedder:
        if argument:
            raise ConfigError(f"model multilingual takes no argument, not {argument!r}")
        from likewise.embedders.multilingual import MultilingualE5Embedder  # loads on first use

        return MultilingualE5Embedder()


class Image:
    """`image`: EfficientNet-Lite0's pooled features of local image files (1280-d), offline,
    from the `likewise[images]` extra; its "texts" are paths. An Engine fills the space `image`
    with it from the items' `image` field. Stores record it as `efficientnet-lite0`, an entry
    point of its own."""

    def describe(self) -> list[ModelInfo]:
        note = "EfficientNet-Lite0 image features, ONNX: pip install 'likewise[images]'"
        return [
            ModelInfo("image", IMAGE_DIM, note),
            ModelInfo(IMAGE_ID, IMAGE_DIM, "the id a store records for image"),
        ]

    def __call__(self, argument: str) -> Embedder:
        if argument:
            raise ConfigError(f"model image takes no argument, not {argument!r}")
        from likewise.embedders.image import ImageEmbedder  # the graph loads on first use

        return ImageEmbedder()


class OpenAI:
    """`openai:<model>[@<dim>]`: any server speaking OpenAI's `/v1/embeddings`, called as the
    `embedding` settings say (None reads them from the environment, `LIKEWISE_OPENAI_*`)."""

    def describe(self) -> list[ModelInfo]:
        from likewise.embedders.openai import KNOWN_DIMS, PREFIX

        known = [ModelInfo(PREFIX + name, dim, "OpenAI") for name, dim in KNOWN_DIMS.items()]
        return [
            *known,
            ModelInfo(
                PREFIX + "<model>[@<dim>]",
                None,
                "any OpenAI-compatible server: <dim> if given, else the model's own",
            ),
        ]

    def __call__(self, argument: str, *, embedding: EmbeddingConfig | None = None) -> Embedder:
        from likewise.config.embedding import EmbeddingConfig
        from likewise.embedders.openai import PREFIX, OpenAIEmbedder, parse_name

        model, dimensions = parse_name(PREFIX + argument)
        options = (embedding or EmbeddingConfig()).embedder_options()
        # The name's `@<dim>` is what the store was built with; the setting asks for a new one.
        options["dimensions"] = dimensions or options["dimensions"]
        return OpenAIEmbedder(model, **options)


class Vectors:
    """`vectors:<dim>`: no model; the `text` space of a new store takes the team's own
    `dim`-d vectors, which every item then carries as `vectors.text` (embedders/vectors.py).
    Its metric is the store's (the `metric` setting, cosine by default)."""

    def describe(self) -> list[ModelInfo]:
        note = "no model: items bring their own text vectors (vectors.text), <dim> 1..2000"
        return [ModelInfo("vectors:<dim>", None, note)]

    def __call__(self, argument: str) -> Embedder:
        from likewise.embedders.vectors import OwnVectors

        if not argument.isdigit() or not 1 <= int(argument) <= MAX_OWN_DIM:
            raise ConfigError(
                f"model 'vectors:{argument}': give the dimension of your vectors, "
                f"vectors:<dim> with <dim> 1..{MAX_OWN_DIM}"
            )
        return OwnVectors(int(argument))


minilm = MiniLM()
hashing = Hashing()
multilingual = Multilingual()
openai = OpenAI()
image = Image()
vectors = Vectors()
