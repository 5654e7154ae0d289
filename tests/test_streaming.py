"""Training and embedding from video files and frame folders, read on demand."""

import os

import numpy as np
import pytest
import torch

from sklav import LAVEncoder
from sklav.datasets import VideoFile, open_video, read_video
from sklav.encoders.data import VideoPairDataset, seed_worker

av = pytest.importorskip("av")

SMALL = dict(weights=None, image_size=16, num_frames=4, num_context=2, context_stride=2, max_epochs=2,
             batch_size=2, hidden_dim=8, embedding_dim=4, random_state=0, device="cpu")


def _frames(n, seed, size=(24, 32)):
    """Smooth moving blobs: compress well, differ from frame to frame."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: size[0], : size[1]]
    cy, cx = rng.uniform(0, size[0]), rng.uniform(0, size[1])
    out = []
    for t in range(n):
        blob = np.exp(-((y - cy - t) ** 2 + (x - cx - 0.5 * t) ** 2) / 30.0)
        out.append(np.stack([255 * blob, 128 + 100 * np.sin(x / 5 + t), np.full_like(blob, 60 + t)], -1))
    return np.clip(out, 0, 255).astype(np.uint8)


def write_mp4(path, frames, fps=10, codec="mpeg4", gop=None):
    """``gop``: a keyframe every ``gop`` frames (libx264 also with B-frames)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        if gop:
            stream.codec_context.gop_size = gop
        if gop and codec == "libx264":
            stream.options = {"bf": "2", "keyint": str(gop), "min-keyint": str(gop), "scenecut": "0"}
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return str(path)


def write_folder(path, frames):
    from PIL import Image

    os.makedirs(path)
    for i, image in enumerate(frames):
        Image.fromarray(image).save(os.path.join(path, f"{i + 1:06d}.png"))
    return str(path)


@pytest.fixture
def folders(tmp_path):
    videos = [_frames(12 + 3 * i, i) for i in range(4)]
    return [write_folder(tmp_path / f"v{i}", v) for i, v in enumerate(videos)], videos


@pytest.fixture
def mp4s(tmp_path):
    return [write_mp4(tmp_path / f"v{i}.mp4", _frames(15 + 2 * i, i)) for i in range(4)]


def test_video_file_decodes_only_what_is_asked(mp4s, folders):
    frames = read_video(mp4s[0])
    video = VideoFile(mp4s[0])
    assert video.shape == frames.shape and video.dtype == np.uint8 and video.frames_decoded == 0
    np.testing.assert_array_equal(video[[5, 2, 2]], frames[[5, 2, 2]])
    assert video.frames_decoded == 6  # decoded from the start up to frame 5, and no further
    np.testing.assert_array_equal(video[-1], frames[-1])
    folder = VideoFile(folders[0][0])
    np.testing.assert_array_equal(folder[[7, 1]], folders[1][0][[7, 1]])
    assert folder.frames_decoded == 2  # two image files read
    assert [len(c) for c in folder.iter_chunks(5)] == [5, 5, 2]
    with pytest.raises(IndexError):
        video[len(video)]


def _keyframes(path):
    """Frame numbers of the keyframes, from the packets: the test's own reading of the index."""
    with av.open(str(path)) as container:
        packets = [(p.pts, p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]
    pts = sorted(p for p, _ in packets)
    return sorted(pts.index(p) for p, key in packets if key)


@pytest.mark.parametrize("codec", ["mpeg4", "libx264"])
def test_video_file_seeks_to_the_keyframe_before_each_frame(tmp_path, codec):
    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg build has no {codec} encoder")
    path = write_mp4(tmp_path / "v.mp4", _frames(40, 0), codec=codec, gop=6)
    frames, keyframes = read_video(path), _keyframes(path)
    assert len(keyframes) >= 5 and keyframes[0] == 0
    rng = np.random.default_rng(0)
    for indices in ([37], [3, 38, 12, 12, 21, 0], rng.choice(40, 9), np.arange(40)[::-1]):
        np.testing.assert_array_equal(VideoFile(path)[indices], frames[indices])
    video = VideoFile(path)
    video[[37]]
    assert video.frames_decoded == 37 - max(k for k in keyframes if k <= 37) + 1  # not 38
    video = VideoFile(path)
    video[[keyframes[1] - 1, keyframes[1] + 1]]  # on through the keyframe: one pass
    assert video.frames_decoded == keyframes[1] + 2


def test_video_file_decodes_from_the_start_where_the_index_misleads(tmp_path, monkeypatch):
    frames = _frames(30, 1)
    avi = tmp_path / "v.avi"  # no sample index: from the start
    with av.open(str(avi), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.height, stream.width, stream.pix_fmt = 24, 32, "yuv420p"
        stream.codec_context.gop_size = 6
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    video = VideoFile(avi)
    np.testing.assert_array_equal(video[[25]], read_video(avi)[[25]])
    assert video.frames_decoded == 26 and video._seek_index() is None
    path = write_mp4(tmp_path / "v.mp4", frames, gop=6)
    frames = read_video(path)
    pts, keyframes = VideoFile(path)._seek_index()
    shifted = np.r_[pts[1:], pts[-1] + 1]  # every frame one later than the decoder says
    monkeypatch.setattr(VideoFile, "_seek_index", lambda self: (shifted, keyframes))
    video = VideoFile(path)
    np.testing.assert_array_equal(video[[20, 7]], frames[[20, 7]])
    assert video.frames_decoded > 21  # the seek that landed elsewhere, then from the start


@pytest.mark.parametrize("freeze", [False, True])
def test_fit_and_transform_on_paths_equal_those_on_the_decoded_frames(folders, freeze, tmp_path):
    paths, arrays = folders
    params = dict(SMALL, freeze_backbone=freeze, feature_cache=tmp_path / "cache", transform_batch_size=5)
    from_paths = LAVEncoder(**params).fit(paths)
    from_arrays = LAVEncoder(**params).fit(arrays)
    assert from_paths.history_[:, "train_loss"] == from_arrays.history_[:, "train_loss"]
    for a, b in zip(from_paths.transform(paths), from_arrays.transform(arrays)):
        np.testing.assert_array_equal(a, b)
    # and a model fitted on arrays embeds paths as it embeds their frames
    np.testing.assert_array_equal(from_arrays.transform(paths[:1])[0], from_arrays.transform(arrays[:1])[0])


def test_mp4_paths_train_on_the_frames_read_video_gives(mp4s):
    from_paths = LAVEncoder(**SMALL, freeze_backbone=False).fit(mp4s)
    from_arrays = LAVEncoder(**SMALL, freeze_backbone=False).fit([read_video(p) for p in mp4s])
    assert from_paths.history_[:, "train_loss"] == from_arrays.history_[:, "train_loss"]
    assert from_paths.frame_shape_ == (24, 32, 3)


def test_workers_are_reproducible_and_draw_distinct_streams(mp4s):
    params = dict(SMALL, freeze_backbone=False, num_workers=2, batch_size=1)
    first, second = LAVEncoder(**params).fit(mp4s), LAVEncoder(**params).fit(mp4s)
    assert first.history_[:, "train_loss"] == second.history_[:, "train_loss"]
    for a, b in zip(first.transform(mp4s[:2]), second.transform(mp4s[:2])):
        np.testing.assert_array_equal(a, b)
    in_process = LAVEncoder(**dict(params, num_workers=0)).fit(mp4s)
    assert in_process.history_[:, "train_loss"] != first.history_[:, "train_loss"]


def test_each_worker_and_epoch_samples_from_its_own_stream():
    videos = [np.zeros((100, 3), np.float32)] * 8
    dataset = VideoPairDataset(videos, np.zeros(8), 5, 1, 1, np.random.default_rng(0))
    dataset.worker_seed = 7
    draws = []
    for epoch in range(2):
        loader = torch.utils.data.DataLoader(dataset, batch_size=1, num_workers=2, worker_init_fn=seed_worker,
                                             collate_fn=lambda batch: batch[0][0]["indices"].tolist())
        draws.append(list(loader))
    flat = [tuple(d) for epoch in draws for d in epoch]
    assert len(set(flat)) == len(flat)  # no worker or epoch repeats another's draws


def test_disk_feature_cache_is_reused_and_invalidated(folders, tmp_path):
    paths, _ = folders
    cache = tmp_path / "cache"
    params = dict(SMALL, freeze_backbone=True, feature_cache=cache)
    first = LAVEncoder(**params).fit(paths)
    files = sorted(cache.glob("*.npy"))
    assert len(files) == len(paths)
    videos = [VideoFile(p) for p in paths]
    second = LAVEncoder(**params).fit(videos)
    assert [v.frames_decoded for v in videos[1:]] == [0, 0, 0]  # features reused, not recomputed
    assert videos[0].frames_decoded == 1  # its first frame, to build the network
    assert first.history_[:, "train_loss"] == second.history_[:, "train_loss"]
    # a changed frame file changes the video's identity: its features are computed anew
    frame = os.path.join(paths[0], "000001.png")
    os.utime(frame, ns=(os.stat(frame).st_atime_ns, os.stat(frame).st_mtime_ns + 10**9))
    videos = [VideoFile(p) for p in paths]
    LAVEncoder(**params).fit(videos)
    assert videos[0].frames_decoded >= len(videos[0]) and videos[1].frames_decoded == 0
    assert len(list(cache.glob("*.npy"))) == len(paths) + 1


def test_disk_feature_cache_stays_within_its_budget(folders, tmp_path):
    paths, _ = folders
    cache = tmp_path / "cache"
    params = dict(SMALL, freeze_backbone=True, feature_cache=cache, max_epochs=1)
    LAVEncoder(**params).fit(paths[:2])
    size = sum(f.stat().st_size for f in cache.glob("*.npy"))
    LAVEncoder(**dict(params, feature_cache_size=size)).fit(paths[2:])
    assert len(list(cache.glob("*.npy"))) == 2  # the older fit's files made room for this one's


def test_missing_or_unreadable_paths_get_a_clear_error(folders, tmp_path):
    paths, _ = folders
    missing = str(tmp_path / "nope.mp4")
    with pytest.raises(ValueError, match=r"X\[2\] \('.*nope.mp4'\) cannot be read"):
        LAVEncoder(**SMALL).fit(paths[:2] + [missing])
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(ValueError, match=r"X\[0\] .*junk.mp4"):
        LAVEncoder(**SMALL).fit([str(junk)] + paths[:2])
    with pytest.raises(TypeError, match="single path"):
        LAVEncoder(**SMALL).fit(paths[0])


def test_npy_paths_are_memory_mapped(tmp_path):
    rng = np.random.default_rng(0)
    videos = [rng.normal(size=(20 + i, 5)).astype(np.float32) for i in range(3)]
    paths = [str(tmp_path / f"f{i}.npy") for i in range(3)]
    for path, video in zip(paths, videos):
        np.save(path, video)
    assert isinstance(open_video(paths[0]), np.memmap)
    params = dict(random_state=0, num_frames=5, max_epochs=1, embedding_dim=4, hidden_dim=8)
    np.testing.assert_array_equal(LAVEncoder(**params).fit(paths).transform(paths)[1],
                                  LAVEncoder(**params).fit(videos).transform(videos)[1])


def test_cli_fit_and_embed_take_a_folder_of_videos(tmp_path, folders, capsys):
    from sklav.cli import main

    paths, arrays = folders  # frame folders v0..v3 in tmp_path
    write_mp4(tmp_path / "v4.mp4", _frames(14, 4))
    model, out = tmp_path / "model.sklav", tmp_path / "emb.npz"
    assert main(["fit", str(tmp_path), "-o", str(model), "--epochs", "1", "--num-frames", "4", "--quiet",
                 "-p", "image_size=16", "-p", "hidden_dim=8", "-p", "embedding_dim=4", "-p", "weights=None",
                 "-p", "freeze_backbone=False"]) == 0, capsys.readouterr().err
    assert "on 5 videos" in capsys.readouterr().out
    assert main(["embed", str(model), str(tmp_path), "-o", str(out)]) == 0
    with np.load(out) as z:
        assert sorted(z.files) == ["v0", "v1", "v2", "v3", "v4"] and z["v4"].shape == (14, 4)
        np.testing.assert_array_equal(z["v1"], sklav_load(model).transform(arrays[1:2])[0])


def sklav_load(path):
    from sklav import load

    return load(path)


FORKED_READ = """
import multiprocessing, sys
from sklav.datasets import VideoFile, read_video

def read(path):
    return VideoFile(path)[[0, 3, 5]].shape, read_video(path).shape

if __name__ == "__main__":
    read(sys.argv[1])  # the parent decodes and converts first, as LAVEncoder.fit does
    with multiprocessing.get_context("fork").Pool(1) as pool:
        print(pool.apply_async(read, (sys.argv[1],)).get(timeout=60))
"""


def test_a_forked_worker_decodes_after_its_parent_did(tmp_path):
    # DataLoader workers are forked from a process that has already decoded
    # and converted frames; FFmpeg's threaded scaler, inherited without its
    # threads, once left such a worker waiting forever (and the fit with it)
    import subprocess
    import sys

    path = write_mp4(tmp_path / "a.mp4", _frames(12, 0))
    script = tmp_path / "forked_read.py"
    script.write_text(FORKED_READ)
    done = subprocess.run([sys.executable, str(script), path], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "((3, 24, 32, 3), (12, 24, 32, 3))"
