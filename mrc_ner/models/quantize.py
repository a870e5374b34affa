"""Cheaper arithmetic for prediction: dynamic int8 quantization, or bfloat16 autocast.

``bf16`` keeps the float32 weights and runs :meth:`~mrc_ner.models.base.Tagger.predict`
under ``torch.autocast(dtype=torch.bfloat16)``: matrix products in bfloat16. It pays on
CPUs with bf16 matrix units (AVX512-BF16, AMX) and on GPUs, and can be much slower
elsewhere (loading warns on a CPU without them: :func:`mrc_ner.hardware.warn_if_bf16_is_slow`);
``bench/extract_speed.py --bf16`` measures it.

int8:

Every ``nn.Linear`` (the encoder's attention and feed-forward projections and the
heads) becomes a dynamically quantized one: weights stored as int8, activations
quantized per batch at run time. Embeddings and LayerNorm stay in float32.

A quantized tagger is for :meth:`~mrc_ner.models.base.Tagger.predict` only: it cannot
be trained, and its state dict holds packed int8 weights that
:meth:`~mrc_ner.models.base.Tagger.load` does not read, so quantize after loading,
never before saving. Its F1 can differ from the float model's; ``bench/extract_speed.py``
measures both.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, cast

from torch import nn

from mrc_ner.errors import InputError
from mrc_ner.hardware import warn_if_bf16_is_slow

if TYPE_CHECKING:
    from mrc_ner.models.base import Tagger

#: values of the ``--quantize`` option of ``predict``, ``evaluate`` and ``extract``
QUANTIZE_CHOICES = ("none", "int8", "bf16")


def quantize_dynamic_int8(tagger: Tagger, *, inplace: bool = True) -> Tagger:
    """The tagger with every ``nn.Linear`` replaced by an int8 dynamic-quantized one.

    Uses ``torch.ao.quantization.quantize_dynamic`` (deprecated in recent torch in favour
    of ``torchao``, but still shipped; its deprecation warnings are silenced here).
    ``inplace=False`` leaves ``tagger`` untouched and returns a quantized deep copy.
    """
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError as e:  # a torch without the eager-mode quantization API
        raise RuntimeError(
            f"this torch has no torch.ao.quantization.quantize_dynamic ({e}); int8 quantization is unavailable"
        ) from None
    import torch

    was_training = tagger.training
    if hasattr(tagger, "head_digest"):
        # Remember the float weights' digest: quantized heads no longer expose parameters,
        # and extraction outputs must still be tied to the model they came from.
        tagger._head_digest = tagger.head_digest()
    tagger.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        out = quantize_dynamic(tagger, {nn.Linear}, dtype=torch.qint8, inplace=inplace)
    if not inplace:
        tagger.train(was_training)
    result = cast("Tagger", out if out is not None else tagger)
    result.quantization = "int8"
    return result


def load_for_inference(directory: str | Path, *, quantize: str = "none", device: str = "cpu") -> Tagger:
    """A saved tagger ready to predict: on ``device``, int8-quantized or under bf16 autocast as ``quantize`` says.

    Dynamic quantization runs on the CPU only, so ``int8`` with a CUDA device is refused.
    """
    from mrc_ner.models.base import load_tagger

    if quantize not in QUANTIZE_CHOICES:
        raise InputError(f"--quantize must be one of {', '.join(QUANTIZE_CHOICES)}, not {quantize!r}")
    if quantize == "int8" and str(device).startswith("cuda"):
        raise InputError(
            "--quantize int8 is CPU-only (torch dynamic quantization); run on the CPU (--device cpu; extract: --cpu) or drop --quantize"
        )
    tagger = load_tagger(directory).to(device)
    if quantize == "int8":
        tagger = quantize_dynamic_int8(tagger)
    elif quantize == "bf16":
        warn_if_bf16_is_slow(str(device), stacklevel=2)
        use_bf16_autocast(tagger)
    return tagger


def use_bf16_autocast(tagger: Tagger) -> Tagger:
    """Make the tagger's :meth:`predict` run under bfloat16 autocast (weights stay float32)."""
    import torch

    tagger.autocast_dtype = torch.bfloat16
    tagger.quantization = "bf16"
    return tagger


def count_quantized(module: nn.Module) -> int:
    """How many dynamically quantized linear layers ``module`` holds."""
    from torch.ao.nn.quantized.dynamic import Linear as QLinear

    return sum(isinstance(m, QLinear) for m in module.modules())
