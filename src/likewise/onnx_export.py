"""A torch module exported to ONNX the one way likewise does it, for the models trained or
loaded with torch and served with onnxruntime without it: the neural next-item model
(`retrieval/neural_fit.py`) and the image model (`embedders/image_export.py`)."""

from __future__ import annotations

import logging
import warnings
from typing import Any

__all__ = ["to_onnx"]


def to_onnx(module: Any, example: Any, input_name: str, output_name: str) -> bytes:
    """The ONNX graph of `module` (in eval mode) for inputs shaped like `example`, its first
    dimension dynamic (`batch`), serialised. torch is imported here, only when exporting."""
    import torch

    quiet = logging.getLogger("torch.onnx")  # "torchvision is not installed", for each op
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # torch's exporter warns about its own internals
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,  # torch.export; the TorchScript exporter is deprecated
                input_names=[input_name],
                output_names=[output_name],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                verbose=False,
            )
    finally:
        quiet.setLevel(level)
    assert program is not None
    return program.model_proto.SerializeToString()  # type: ignore[no-any-return]
