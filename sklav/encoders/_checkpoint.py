"""Atomic, fingerprinted training checkpoints for LAVEncoder.

Layout under the ``checkpoint`` folder::

    fit-<key>/                one folder per fit, named by its fingerprint
        fingerprint.json      what the key was computed from (data, settings)
        epoch-000004/         a complete checkpoint: params.pt, optimizer.pt,
                              criterion.pt, history.json, rng.pt and
                              manifest.json (sizes and SHA-256 of the others)
        epoch-000003/         the previous one, kept in case the newest is damaged
        latest                names the newest epoch folder; written last

An epoch folder is written under a temporary name in the same folder, every
file fsync'ed, and renamed into place in one ``os.replace``; the pointer is
then replaced the same way. A kill at any moment leaves the previous
checkpoint intact; a stop signal (Ctrl-C, SIGTERM, SIGHUP) is held until the
checkpoint being written is complete. Reading verifies the manifest before unpickling anything
(``torch.load(weights_only=True)``), so a damaged or foreign file is reported
by name as a :class:`CheckpointError`; an older intact checkpoint is used
when the newest is damaged, with a :class:`CheckpointWarning`.
"""

import contextlib
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import tempfile
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

from ..utils.files import check_can_create_files, fsync_folder, write_atomically
from ..utils.signals import stops_deferred
from ._state import FORMAT, rng_states

KEEP = 2  # epoch folders kept: the newest and one to fall back on
_EPOCH = re.compile(r"epoch-(\d{6})")
_FILES = ("params.pt", "optimizer.pt", "criterion.pt", "history.json", "rng.pt")


class CheckpointError(ValueError):
    """A checkpoint file is damaged, foreign or unreadable; the message names it."""


class CheckpointWarning(UserWarning):
    """The newest checkpoint was damaged and an older intact one is used."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (disk full, read-only...); the message names the folder."""

    def __str__(self):
        return f"could not write a checkpoint in {self.filename!r}: {self.strerror}"


def checkpoint_root(checkpoint):
    """The folder for a ``checkpoint`` parameter, and whether it is a temporary one.

    Created and probed now, so that a bad path fails before any training:
    None for False, a new temporary folder for True, else the path; an
    empty path (an unset shell variable) or one that cannot be written
    raises ``ValueError``.
    """
    if checkpoint is True:
        return tempfile.mkdtemp(prefix="sklav-checkpoint-"), True
    if checkpoint is False:
        return None, False
    root = os.fspath(checkpoint)
    if not root.strip():
        raise ValueError(f"checkpoint={root!r} is an empty path (an unset shell variable?): give a folder, "
                         "True for a temporary one, or False for none.")
    try:
        os.makedirs(root, exist_ok=True)
        check_writable(root)
    except OSError as err:
        reason = err.strerror or str(err)  # without errno and path: the message names the path
        raise ValueError(f"checkpoint={root!r} cannot be used as a folder: {reason}.") from None
    return root, False


def check_writable(folder):
    """Raise ``CheckpointWriteError`` unless a file can be created in ``folder``: before any training."""
    try:
        check_can_create_files(folder)
    except OSError as err:
        raise CheckpointWriteError(err.errno, err.strerror, os.fspath(folder)) from None


def checkpoint_epoch(fit_folder):
    """The epoch the newest complete checkpoint of a fit holds, or None before the first.

    Parameters
    ----------
    fit_folder : str or os.PathLike
        The fit's checkpoint folder (a fitted encoder's ``checkpoint_dir_``).

    Raises
    ------
    ValueError
        When the folder's ``latest`` pointer is damaged.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklav.encoders import checkpoint_epoch
    >>> folder = tempfile.TemporaryDirectory()
    >>> print(checkpoint_epoch(folder.name))
    None
    >>> with open(os.path.join(folder.name, "latest"), "w") as f:
    ...     _ = f.write("epoch-000012\\n")
    >>> checkpoint_epoch(folder.name)
    12
    >>> folder.cleanup()
    """
    path = os.path.join(fit_folder, "latest")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        match = _EPOCH.fullmatch(f.read().decode(errors="replace").strip())
    if match is None:
        raise ValueError(f"checkpoint pointer {path!r} is damaged")
    return int(match.group(1))


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _joined(problems):
    """Problems as one clause list: their own closing full stops dropped (no ``).;``)."""
    return "; ".join(problem.rstrip(".") for problem in problems)


def _torch_bytes(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _json_default(obj):
    return obj.item() if hasattr(obj, "item") else str(obj)


# --------------------------------------------------------------------------
# the store


class CheckpointStore:
    """The checkpoints of one fit, in ``root/fit-<key>``.

    Parameters
    ----------
    root : str
        The ``checkpoint`` folder.
    key, fields
        What :func:`fingerprint` returned.
    """

    def __init__(self, root, key, fields):
        self.root = str(root)
        self.key = key
        self.fields = fields
        self.folder = os.path.join(self.root, f"fit-{key}")
        self.last_epoch = None  # the epoch last loaded or saved

    def _epoch_folder(self, epoch):
        return os.path.join(self.folder, f"epoch-{epoch:06d}")

    def _epochs(self):
        names = os.listdir(self.folder) if os.path.isdir(self.folder) else []
        return sorted((int(m.group(1)) for m in map(_EPOCH.fullmatch, names) if m), reverse=True)

    # ---- writing

    def save(self, net, pair_rng):
        """Write the net's state after its last epoch as one atomic checkpoint.

        Raises
        ------
        CheckpointWriteError
            When the disk is full or the folder not writable; the previous
            checkpoint stays intact.
        """
        try:
            with stops_deferred():
                self._save(net, pair_rng)
        except CheckpointWriteError:
            raise
        except OSError as err:
            raise CheckpointWriteError(err.errno, err.strerror, self.folder) from None

    def _save(self, net, pair_rng):
        epoch = len(net.history)
        os.makedirs(self.folder, exist_ok=True)
        self._clear_temporaries()
        info = os.path.join(self.folder, "fingerprint.json")
        if not os.path.exists(info):
            contents = json.dumps({"key": self.key, **self.fields}, indent=1).encode()
            write_atomically(info, lambda file: file.write(contents))
        files = {
            "params.pt": _torch_bytes(net.module_.state_dict()),
            "optimizer.pt": _torch_bytes(net.optimizer_.state_dict()),
            "criterion.pt": _torch_bytes(net.criterion_.state_dict()),
            "history.json": json.dumps(net.history.to_list(), default=_json_default).encode(),
            "rng.pt": _torch_bytes(rng_states(pair_rng, net.device)),
        }
        manifest = {
            "format": FORMAT, "fit": self.key, "epoch": epoch,
            "files": {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()},
        }
        files["manifest.json"] = json.dumps(manifest, indent=1).encode()
        # temporary names known before they exist, so that a stop at any instant
        # (SIGTERM lands anywhere) removes whatever of them was made
        tmp = os.path.join(self.folder, f".tmp-epoch-{epoch:06d}-{os.getpid()}")
        trash = os.path.join(self.folder, f".tmp-old-{epoch:06d}-{os.getpid()}")
        try:
            os.mkdir(tmp)  # the umask's mode, as the folders around it
            for name, data in files.items():
                _write(os.path.join(tmp, name), data)
            fsync_folder(tmp)
            final = self._epoch_folder(epoch)
            if os.path.exists(final):  # a stale or damaged one: move it aside first
                os.replace(final, trash)
            os.replace(tmp, final)
            fsync_folder(self.folder)
        finally:
            for leftover in (tmp, trash):
                shutil.rmtree(leftover, ignore_errors=True)
        pointer = f"epoch-{epoch:06d}\n".encode()
        write_atomically(os.path.join(self.folder, "latest"), lambda file: file.write(pointer))
        self.last_epoch = epoch
        self._prune(epoch)

    def _clear_temporaries(self):
        """Remove what an earlier writer killed mid-write left (one fit writes a folder at a time)."""
        for name in os.listdir(self.folder):
            if name.startswith(".tmp-") or name.startswith(".") and name.endswith(".tmp"):
                path = os.path.join(self.folder, name)
                shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)

    def _prune(self, newest):
        """Keep the newest epoch and ``KEEP - 1`` before it; drop later ones (a longer
        earlier run's, now past the pointer).

        Each is first renamed to a temporary name, so a kill while deleting
        never leaves a half-deleted folder under an epoch's name.
        """
        epochs = self._epochs()
        stale = [e for e in epochs if e > newest] + [e for e in epochs if e < newest][KEEP - 1 :]
        for epoch in stale:
            doomed = os.path.join(self.folder, f".tmp-delete-epoch-{epoch:06d}")
            shutil.rmtree(doomed, ignore_errors=True)
            try:
                os.replace(self._epoch_folder(epoch), doomed)
            finally:
                shutil.rmtree(doomed, ignore_errors=True)

    # ---- reading

    def load(self, net, max_epoch):
        """Load the newest intact checkpoint of at most ``max_epoch`` epochs into ``net``.

        Returns
        -------
        rng : dict or None
            The random states saved with it (see :func:`rng_states`); None
            when there is no checkpoint to resume from.

        Raises
        ------
        CheckpointError
            When checkpoints exist but none is intact; names the damaged files.
        """
        if not os.path.isdir(self.folder):
            return None
        self._check_fingerprint_file()
        self._clear_temporaries()
        problems = []
        epochs = [e for e in self._epochs() if e <= max_epoch]
        pointer = self._read_pointer(problems)
        if pointer is not None and pointer <= max_epoch and pointer not in epochs:
            problems.append(f"{self._epoch_folder(pointer)}, the newest checkpoint, is missing")
        for epoch in epochs:
            try:
                rng = self._load_epoch(net, epoch)
            except CheckpointError as err:
                problems.append(str(err))
                continue
            if problems:
                warnings.warn(
                    f"{_joined(problems)}; resuming from the intact checkpoint of epoch {epoch} instead.",
                    CheckpointWarning, stacklevel=5,  # load, _fit, _fit_and_commit, fit, the caller
                )
            self.last_epoch = epoch
            return rng
        if problems:
            raise CheckpointError(
                f"no intact checkpoint to resume from: {_joined(problems)}. Remove {self.folder!r} "
                "to train from the start."
            )
        return None

    def _check_fingerprint_file(self):
        path = os.path.join(self.folder, "fingerprint.json")
        if not os.path.exists(path):
            return
        try:
            with open(path, "rb") as f:
                key = json.loads(f.read()).get("key")
        except (OSError, ValueError, AttributeError) as err:
            raise CheckpointError(f"checkpoint file {path!r} is damaged ({err}).") from None
        if key != self.key:
            raise CheckpointError(
                f"checkpoint file {path!r} belongs to another fit (key {key!r}, expected {self.key!r})."
            )

    def _read_pointer(self, problems):
        try:
            return checkpoint_epoch(self.folder)
        except (OSError, ValueError):
            problems.append(f"checkpoint pointer {os.path.join(self.folder, 'latest')!r} is damaged")
            return None

    def _read_verified(self, epoch):
        folder = self._epoch_folder(epoch)
        path = os.path.join(folder, "manifest.json")
        try:
            with open(path, "rb") as f:
                manifest = json.loads(f.read())
            entries = {name: manifest["files"][name] for name in _FILES}
            foreign = manifest["format"] != FORMAT or manifest["fit"] != self.key or manifest["epoch"] != epoch
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
            raise CheckpointError(f"checkpoint file {path!r} is missing or damaged ({err!r}).") from None
        if foreign:
            raise CheckpointError(f"checkpoint file {path!r} belongs to another fit or format.")
        contents = {}
        for name, entry in entries.items():
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError as err:
                raise CheckpointError(f"checkpoint file {path!r} cannot be read ({err}).") from None
            if len(data) != entry.get("size") or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
                raise CheckpointError(
                    f"checkpoint file {path!r} is damaged ({len(data)} bytes, checksum does not match "
                    "its manifest)."
                )
            contents[name] = data
        return folder, contents

    def _load_epoch(self, net, epoch):
        folder, contents = self._read_verified(epoch)
        name = None
        try:
            name = "history.json"
            history = History(json.loads(contents[name]))
            loaded = {}
            for name in ("params.pt", "optimizer.pt", "criterion.pt", "rng.pt"):
                loaded[name] = torch.load(io.BytesIO(contents[name]), map_location=net.device, weights_only=True)
            name = "rng.pt"
            rng = loaded[name]
            rng["torch"], rng["cuda"] = rng["torch"].cpu(), rng.get("cuda")
            if rng["torch"].dtype != torch.uint8 or rng["cuda"] is not None and rng["cuda"].dtype != torch.uint8:
                raise TypeError("random states must be uint8 tensors")
            np.random.default_rng().bit_generator.state = rng["pairs"]  # a valid numpy state
            if rng["cuda"] is not None:
                rng["cuda"] = rng["cuda"].cpu()
            name = "params.pt"
            net.module_.load_state_dict(loaded[name])
            name = "optimizer.pt"
            net.optimizer_.load_state_dict(loaded[name])
            name = "criterion.pt"
            net.criterion_.load_state_dict(loaded[name])
        except pickle.UnpicklingError:  # torch's weights_only refusal; its advice is to unpickle anyway
            raise CheckpointError(
                f"checkpoint file {os.path.join(folder, name)!r} is refused: it holds pickled objects "
                "other than tensors and plain values, which could run code"
            ) from None
        except Exception as err:  # a verified file that still does not fit this network
            reason = " ".join(str(err).split()).rstrip(".")
            raise CheckpointError(
                f"checkpoint file {os.path.join(folder, name)!r} does not fit this fit: {reason}"
            ) from None
        if len(history) != epoch:
            raise CheckpointError(f"checkpoint file {os.path.join(folder, 'history.json')!r} is inconsistent.")
        net.history_ = history
        return rng


class CheckpointCallback(Callback):
    """skorch callback: save a :class:`CheckpointStore` checkpoint after every epoch.

    A fit that ends early without an interruption (e.g. by ``EarlyStopping``)
    has its last epoch saved at the end of training.
    """

    def __init__(self, store):
        self.store = store

    def on_train_begin(self, net, X=None, **kwargs):
        self._pair_rng = X.rng

    def on_epoch_end(self, net, **kwargs):
        self.store.save(net, self._pair_rng)

    def on_train_end(self, net, **kwargs):
        done = len(net.history)
        if not getattr(net, "interrupted_", False) and done and self.store.last_epoch != done:
            self.store.save(net, self._pair_rng)
