"""Autograd helpers of the Soft-DTW functions.

- :func:`first_order_only`: gradients that raise a clear error when
  differentiated again (double backward), instead of being taken for
  constants.
"""

import torch


class _NoDoubleBackward(torch.autograd.Function):
    """Identity on a gradient; differentiating through it raises."""

    @staticmethod
    def forward(ctx, name, gradient, *inputs):
        ctx.name = name
        return gradient.clone()

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(
            f"{ctx.name}: double backward is not supported (its kernels compute first "
            "derivatives only), so its gradient cannot be differentiated again."
        )


def first_order_only(name, gradients, inputs):
    """``gradients``; under ``create_graph=True``, tied to ``inputs`` so that
    differentiating them raises a clear error rather than treating them as
    constants (which would silently drop the second-order terms)."""
    inputs = [t for t in inputs if t.requires_grad]
    if not torch.is_grad_enabled() or not inputs:
        return gradients
    return tuple(g if g is None else _NoDoubleBackward.apply(name, g, *inputs) for g in gradients)
