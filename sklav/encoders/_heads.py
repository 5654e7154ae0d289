"""The temporal context head: :class:`ContextHead` and its :class:`TemporalConv1d`.

The head stacks the ``k`` context frames' trunk features in time: two
convolutions (3D on feature maps, 1D on vectors), global max pooling, two
fully connected layers and a linear projection, L2-normalised.
:mod:`sklav.encoders.networks` re-exports both.
"""

import torch
import torch.nn.functional as F
from torch import nn


class TemporalConv1d(nn.Conv1d):
    """A stride-1 ``Conv1d`` (same parameters and result) as matrix products.

    On few-frame context windows oneDNN's convolution backward is many times
    slower. Windows no longer than the kernel (LAV's 2 or 3 context frames)
    take one product with the block-Toeplitz matrix of the kernel: every input
    frame times every output frame, the zero padding skipped (4 blocks for 2
    frames and kernel 3, where the convolution computes 6; 9 blocks, 2 of
    them zero, for 3 frames). Longer windows take one product per kernel tap.
    """

    def forward(self, x):
        return self.forward_frames(x.transpose(1, 2)).transpose(1, 2)

    def forward_frames(self, frames):
        """The convolution in (frames, channels) layout: ``(N, L, C_in) -> (N, L', C_out)``."""
        (k,), (pad,), (stride,) = self.kernel_size, self.padding, self.stride
        if stride != 1:
            raise ValueError(f"TemporalConv1d supports stride 1 only, got {stride}.")
        n_in = frames.shape[1]
        n_out = n_in + 2 * pad - k + 1
        if n_in <= k:
            return self._toeplitz_product(frames, n_out)
        return self._per_tap(frames, n_out)

    def _toeplitz_product(self, frames, n_out):
        """All output frames at once: ``(N, n_in * C_in) @ (n_in * C_in, n_out * C_out)``."""
        n, n_in, c_in = frames.shape
        (k,), (pad,) = self.kernel_size, self.padding
        zeros = self.weight.new_zeros(self.out_channels, c_in)
        rows = [torch.cat([self.weight[:, :, s - t + pad] if 0 <= s - t + pad < k else zeros
                           for s in range(n_in)], 1) for t in range(n_out)]
        matrix = torch.cat(rows, 0)  # (n_out * C_out, n_in * C_in)
        bias = self.bias.repeat(n_out) if self.bias is not None else None
        return F.linear(frames.reshape(n, n_in * c_in), matrix, bias).view(n, n_out, self.out_channels)

    def _per_tap(self, frames, n_out):
        """``(N, L, C)`` frames; each tap's product skips the zero padding."""
        (k,), (pad,) = self.kernel_size, self.padding
        n_in = frames.shape[1]
        out = self.bias
        for tap in range(k):
            shift = tap - pad  # output t reads input t + shift
            first, stop = max(0, -shift), min(n_out, n_in - shift)
            if first < stop:
                term = F.linear(frames[:, first + shift:stop + shift], self.weight[:, :, tap])
                out = out + F.pad(term, (0, 0, first, n_out - stop))
        return out


class ContextHead(nn.Module):
    """Context frames' trunk features -> one L2-normalised embedding.

    Parameters
    ----------
    in_channels : int
        Channels of the trunk features.
    embedding_dim : int, default=128
    hidden_dim : int, default=512
        Width of the convolutions and the fully connected layers.
    spatial : bool, default=True
        True for feature maps ``(N, k, C, h, w)`` (3D convolutions over time
        and space), False for vectors ``(N, k, C)`` (1D convolutions over time).
    dropout : float, default=0.0
    """

    def __init__(self, in_channels, embedding_dim=128, hidden_dim=512, spatial=True, dropout=0.0):
        super().__init__()
        conv, norm, pool = (
            (nn.Conv3d, nn.BatchNorm3d, nn.AdaptiveMaxPool3d)
            if spatial
            else (TemporalConv1d, nn.BatchNorm1d, nn.AdaptiveMaxPool1d)
        )
        self.spatial = spatial
        self.convs = nn.Sequential(
            conv(in_channels, hidden_dim, 3, padding=1),
            norm(hidden_dim),
            nn.ReLU(),
            conv(hidden_dim, hidden_dim, 3, padding=1),
            norm(hidden_dim),
            nn.ReLU(),
            pool(1),
            nn.Flatten(),
        )
        self.fcs = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
        )
        self.projection = nn.Linear(hidden_dim, embedding_dim)

    def forward(self, context):
        if self.spatial:
            # (N, k, C, h, w) -> (N, C, k, h, w): time becomes a convolution axis
            hidden = self.convs(context.transpose(1, 2))
        else:
            hidden = self._temporal_convs(context)
        return F.normalize(self.projection(self.fcs(hidden)), dim=-1)

    def _temporal_convs(self, frames):
        """``self.convs`` on vectors ``(N, k, C)``, kept in (frames, channels) layout.

        The same modules and result as ``self.convs(frames.transpose(1, 2))``,
        without a transpose around every layer; batch norm then normalises a
        contiguous ``(N * k, C)`` matrix, several times faster than ``(N, C, k)``
        with its 2 or 3 frames innermost.
        """
        conv1, norm1, _, conv2, norm2, _, _, _ = self.convs
        for conv, norm in ((conv1, norm1), (conv2, norm2)):
            frames = conv.forward_frames(frames)
            frames = F.relu(norm(frames.flatten(0, 1)).view_as(frames))
        return frames.amax(1)
