"""Which number format the networks (the embedder and the reader) run in on this CPU: bfloat16
where it has the units for it.

``RAG_PRECISION`` forces it: ``float32``, ``bfloat16`` or ``auto`` (the default: bfloat16 when the
CPU reports AMX-BF16 or AVX512-BF16 and a one-time check finds it close to float32).
"""

from __future__ import annotations

import contextlib
import functools
import os

import torch

PRECISIONS = ("auto", "float32", "bfloat16")


def precision() -> str:
    """ "bfloat16" or "float32": what the embedder, the reader (and training on a CPU) run in here.

    Raises:
        ValueError: ``RAG_PRECISION`` is set to something else than ``PRECISIONS``.
    """
    asked = os.environ.get("RAG_PRECISION", "auto").strip().lower() or "auto"
    if asked not in PRECISIONS:
        raise ValueError(
            f"RAG_PRECISION={asked!r}: expected one of {', '.join(PRECISIONS)} (unset means auto)"
        )
    if asked == "auto":
        return "bfloat16" if bfloat16_supported() else "float32"
    return asked


def autocast(device: str | torch.device = "cpu", enabled: bool | None = None):
    """A context that runs matrix products in bfloat16 when ``precision()`` says so (on a GPU,
    when it supports bfloat16); otherwise nothing."""
    device_type = torch.device(device).type
    if enabled is None:
        if device_type == "cuda":
            enabled = torch.cuda.is_bf16_supported()
        else:
            enabled = precision() == "bfloat16"
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=torch.bfloat16)


@functools.cache
def bfloat16_supported() -> bool:
    """The CPU has bfloat16 matrix units (AMX-BF16 or AVX512-BF16), as PyTorch detects them, and
    a small product under autocast agrees with float32 (the once-only check)."""
    if not _cpu_reports_bfloat16():
        return False
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(64, 384, generator=generator)
    b = torch.randn(384, 64, generator=generator)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = (a @ b).float()
    exact = a @ b
    # bfloat16 keeps 8 bits of mantissa: products of 384 terms agree to about 1 % of their scale.
    return bool(torch.isfinite(low).all()) and float((low - exact).abs().max()) < 0.05 * float(
        exact.abs().max()
    )


def _cpu_reports_bfloat16() -> bool:
    capability = getattr(torch._C._cpu, "_get_cpu_capability", None)
    if capability is not None:
        flags = capability()
        if isinstance(flags, dict):
            return bool(flags.get("amx_bf16") or flags.get("avx512_bf16"))
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
