"""sklav.utils.tensors: the input checks of the alignment kernels and losses."""

import numpy as np
import pytest
import torch

from sklav.utils.tensors import (
    check_gamma,
    check_lengths,
    check_pair,
    check_tensor,
    check_timestamps,
)


@pytest.mark.parametrize(
    "value, error, match",
    [
        (np.zeros((2, 3)), TypeError, "x must be a torch.Tensor, got ndarray"),
        (torch.zeros(2, 3, dtype=torch.int64), TypeError, "x must be a floating-point tensor"),
        (torch.zeros(3), ValueError, r"x must have 2 dimensions, got shape \(3,\)"),
        (torch.zeros(0, 3), ValueError, r"x is empty \(shape \(0, 3\)\)"),
        (torch.tensor([[0.0, float("nan")]]), ValueError, "x contains NaN or inf"),
        (torch.tensor([[0.0, float("-inf")]]), ValueError, "x contains NaN or inf"),
    ],
)
def test_check_tensor_errors(value, error, match):
    with pytest.raises(error, match=match):
        check_tensor(value, "x", 2)


def test_check_tensor_accepts_and_can_skip_finiteness():
    check_tensor(torch.zeros(2, 3, dtype=torch.float16), "x", 2)
    check_tensor(torch.tensor([[0.0, float("nan")]]), "x", 2, finite=False)
    # A sum that overflows to inf does not make finite entries fail.
    check_tensor(torch.full((1, 4), 3e38), "x", 2)


@pytest.mark.parametrize(
    "x, y, error, match",
    [
        (torch.zeros(2, 4, 3), np.zeros((2, 5, 3)), TypeError, "y must be a torch.Tensor"),
        (torch.zeros(4, 3), torch.zeros(2, 5, 3), ValueError, "x must have 3 dimensions"),
        (torch.zeros(2, 4, 3), torch.zeros(1, 5, 3), ValueError, "same batch size, got 2 and 1"),
        (torch.zeros(2, 4, 3), torch.zeros(2, 5, 2), ValueError, "same feature size, got 3 and 2"),
        (torch.zeros(2, 4, 3), torch.zeros(2, 5, 3, device="meta"), ValueError,
         "different devices"),
        (torch.zeros(2, 4, 3), torch.full((2, 5, 3), float("inf")), ValueError,
         "y contains NaN or inf"),
    ],
)
def test_check_pair_errors(x, y, error, match):
    with pytest.raises(error, match=match):
        check_pair(x, y)


def test_check_pair_accepts_different_lengths_and_dtypes():
    check_pair(torch.zeros(2, 4, 3), torch.zeros(2, 5, 3, dtype=torch.float64))
    check_pair(torch.zeros(2, 4, 3), torch.full((2, 5, 3), float("nan")), finite=False)


@pytest.mark.parametrize(
    "gamma, error, match",
    [
        ("a", TypeError, "gamma must be a positive float, got 'a'"),
        (None, TypeError, "gamma must be a positive float"),
        (0.0, ValueError, "gamma must be a positive finite float"),
        (-1, ValueError, "gamma must be a positive finite float"),
        (float("inf"), ValueError, "gamma must be a positive finite float"),
        (float("nan"), ValueError, "gamma must be a positive finite float"),
    ],
)
def test_check_gamma_errors(gamma, error, match):
    with pytest.raises(error, match=match):
        check_gamma(gamma)


def test_check_gamma_returns_a_float():
    assert check_gamma(1) == 1.0 and type(check_gamma(np.float32(0.5))) is float


@pytest.mark.parametrize(
    "lengths, error, match",
    [
        ([1.5, 2.0], TypeError, "x_lengths must hold integers, got torch.float32"),
        ([True, False], TypeError, "x_lengths must hold integers, got torch.bool"),
        (torch.tensor([1 + 0j, 2 + 0j]), TypeError, "x_lengths must hold integers"),
        ([1, 2, 3], ValueError, "x_lengths has 3 entries for a batch of 2"),
        ([4, 5], ValueError, r"x_lengths\[1\] = 5 is out of range: lengths must lie in \[1, 4\]"),
        ([0, 2], ValueError, r"x_lengths\[0\] = 0 is out of range"),
    ],
)
def test_check_lengths_errors(lengths, error, match):
    with pytest.raises(error, match=match):
        check_lengths(lengths, 2, 4, "x_lengths")


@pytest.mark.parametrize(
    "lengths", [None, [3, 4], np.array([3, 4], dtype=np.int32), torch.tensor([[3], [4]])]
)
def test_check_lengths_gives_int64_on_the_cpu(lengths):
    checked = check_lengths(lengths, 2, 4, "x_lengths")
    assert checked.dtype == torch.int64 and checked.device.type == "cpu"
    assert checked.shape == (2,) and checked.is_contiguous()
    expected = [4, 4] if lengths is None else [3, 4]
    assert checked.tolist() == expected


def test_cpu_lengths_stay_on_the_cpu_and_are_not_copied_needlessly():
    lengths = torch.tensor([3, 4])
    checked = check_lengths(lengths, 2, 4, "x_lengths")
    assert checked.device.type == "cpu"
    assert checked.data_ptr() == lengths.data_ptr()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_lengths_come_back_to_the_cpu_and_cuda_nan_is_not_checked():
    checked = check_lengths(torch.tensor([3, 4], device="cuda"), 2, 4, "x_lengths")
    assert checked.device.type == "cpu" and checked.tolist() == [3, 4]
    check_tensor(torch.full((1, 2), float("nan"), device="cuda"), "x", 2)  # no sync, no error


@pytest.mark.parametrize(
    "times, error, match",
    [
        (torch.zeros(2, 5), ValueError, r"x_t must have shape \(2, 4\), got \(2, 5\)"),
        (torch.zeros(4), ValueError, r"x_t must have shape \(2, 4\)"),
        (torch.zeros(2, 4, dtype=torch.bool), TypeError, "x_t must hold real numbers"),
        (torch.zeros(2, 4, dtype=torch.complex64), TypeError, "x_t must hold real numbers"),
    ],
)
def test_check_timestamps_errors(times, error, match):
    with pytest.raises(error, match=match):
        check_timestamps(times, 2, 4, "x_t", torch.float32, "cpu")


def test_check_timestamps_values():
    default = check_timestamps(None, 2, 3, "x_t", torch.float64, "cpu")
    assert default.dtype == torch.float64 and default.tolist() == [[0, 1, 2]] * 2
    times = torch.arange(6.0).reshape(2, 3).requires_grad_()
    checked = check_timestamps(times, 2, 3, "x_t", torch.float64, "cpu")
    assert checked.dtype == torch.float64 and not checked.requires_grad
    assert checked.tolist() == times.tolist()
    from_list = check_timestamps([[0, 2, 5], [1, 1, 1]], 2, 3, "x_t", torch.float32, "cpu")
    assert from_list.dtype == torch.float32 and from_list[0, 2].item() == 5.0
