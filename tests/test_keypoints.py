"""convert_keypoints: every layout map checked joint by joint against the published orders,
the side convention checked on the real Penn Action annotations."""

import numpy as np
import pytest

from sklav.datasets import KEYPOINT_LAYOUTS, convert_keypoints, load_penn_action_annotations

# The published orders, written out here as the reference (not taken from sklav).
COCO17 = [  # COCO keypoints, person_keypoints annotation "keypoints" field
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]
BLAZEPOSE33 = [  # MediaPipe PoseLandmark 0..32
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
]
OPENPOSE25 = [  # OpenPose BODY_25 (output/keypoints doc), "Background" (26th map) excluded
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
]
PENN13 = [  # Penn Action's README: head, l/r shoulder, l/r elbow, l/r wrist, l/r hip, l/r knee, l/r ankle
    "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
]
PUBLISHED = {"coco17": COCO17, "blazepose33": BLAZEPOSE33, "openpose25": OPENPOSE25, "penn13": PENN13}

# The same body part in every layout, by the person's anatomical side. Penn's "left" is the
# person's right (checked on the data below), so it pairs with the others' right.
LIMBS = ["shoulder", "elbow", "wrist", "hip", "knee", "ankle"]
ANATOMY = {}
for side, penn_side, op in (("left", "right", "L"), ("right", "left", "R")):
    for limb in LIMBS:
        ANATOMY[f"{side} {limb}"] = {"coco17": f"{side}_{limb}", "blazepose33": f"{side}_{limb}",
                                     "openpose25": f"{op}{limb.capitalize()}",
                                     "penn13": f"{penn_side}_{limb}"}
    for part, op_part in (("eye", "Eye"), ("ear", "Ear")):
        ANATOMY[f"{side} {part}"] = {"coco17": f"{side}_{part}", "blazepose33": f"{side}_{part}",
                                     "openpose25": f"{op}{op_part}"}
    ANATOMY[f"{side} heel"] = {"blazepose33": f"{side}_heel", "openpose25": f"{op}Heel"}
    ANATOMY[f"{side} toe"] = {"blazepose33": f"{side}_foot_index", "openpose25": f"{op}BigToe"}
ANATOMY["nose"] = {"coco17": "nose", "blazepose33": "nose", "openpose25": "Nose"}
PAIRS = [(s, t) for s in PUBLISHED for t in PUBLISHED if s != t]


def _indexed(layout, n_frames=2):
    """Keypoints whose x is the joint's index, y its index + 100, confidence 1."""
    n = len(PUBLISHED[layout])
    x = np.zeros((n_frames, n, 3))
    x[..., 0] = np.arange(n)
    x[..., 1] = np.arange(n) + 100
    x[..., 2] = 1.0
    return x


def test_layouts_are_the_published_orders():
    assert {k: list(v) for k, v in KEYPOINT_LAYOUTS.items()} == PUBLISHED


@pytest.mark.parametrize("source,target", PAIRS)
def test_each_joint_maps_to_its_anatomical_counterpart(source, target):
    out = convert_keypoints(_indexed(source), source, target)
    assert out.shape == (2, len(PUBLISHED[target]), 3)
    expected = {}  # target joint name -> source joint name
    for names in ANATOMY.values():
        if source in names and target in names:
            expected[names[target]] = names[source]
    derived = {"head", "Neck", "MidHip"}
    for j, name in enumerate(PUBLISHED[target]):
        if name in expected:
            i = PUBLISHED[source].index(expected[name])
            np.testing.assert_array_equal(out[:, j], [[i, i + 100, 1.0]] * 2, err_msg=f"{source}->{target} {name}")
        elif name not in derived:
            assert np.isnan(out[:, j, :2]).all() and (out[:, j, 2] == 0).all(), f"{source}->{target} {name}"


@pytest.mark.parametrize("source", ["coco17", "blazepose33", "openpose25"])
def test_penn_head_is_the_mean_of_the_visible_face_points(source):
    x = _indexed(source)
    face = [PUBLISHED[source].index(ANATOMY["nose"][source])]
    face += [PUBLISHED[source].index(ANATOMY[f"{s} {p}"][source]) for s in ("left", "right") for p in ("eye", "ear")]
    x[1, face[0], 2] = 0.3  # the nose is below the 0.5 threshold in frame 1
    head = convert_keypoints(x, source, "penn13")[:, 0]
    np.testing.assert_allclose(head[0], [np.mean(face), np.mean(face) + 100, 1.0])
    np.testing.assert_allclose(head[1], [np.mean(face[1:]), np.mean(face[1:]) + 100, 1.0])
    x[:, face, 2] = 0.0  # no face point visible: the head is missing
    head = convert_keypoints(x, source, "penn13")[:, 0]
    assert np.isnan(head[:, :2]).all() and (head[:, 2] == 0).all()


@pytest.mark.parametrize("source", ["coco17", "blazepose33", "penn13"])
def test_openpose_neck_and_mid_hip_are_midpoints(source):
    x = _indexed(source)
    ls, rs = (PUBLISHED[source].index(ANATOMY[f"{s} shoulder"][source]) for s in ("left", "right"))
    x[1, ls, 2] = 0.6
    x[1, rs, 2] = 0.2  # one shoulder invisible in frame 1: no neck
    out = convert_keypoints(x, source, "openpose25")
    np.testing.assert_allclose(out[0, 1], [(ls + rs) / 2, (ls + rs) / 2 + 100, 1.0])
    assert np.isnan(out[1, 1, :2]).all() and out[1, 1, 2] == 0
    lh, rh = (PUBLISHED[source].index(ANATOMY[f"{s} hip"][source]) for s in ("left", "right"))
    np.testing.assert_allclose(out[:, 8, 0], (lh + rh) / 2)


def test_two_channels_mark_missing_joints_nan_and_keep_dtype():
    x = _indexed("coco17")[..., :2].astype(np.float32)
    out = convert_keypoints(x, "coco17", "blazepose33")
    assert out.shape == (2, 33, 2) and out.dtype == np.float32
    assert np.isnan(out[:, BLAZEPOSE33.index("mouth_left")]).all()
    np.testing.assert_array_equal(out[:, BLAZEPOSE33.index("left_hip"), 0], COCO17.index("left_hip"))
    assert convert_keypoints(np.zeros((3, 13, 2), dtype=int), "penn13", "penn13").dtype == np.float64


def test_round_trip_keeps_the_shared_joints():
    penn = _indexed("penn13")
    back = convert_keypoints(convert_keypoints(penn, "penn13", "coco17"), "coco17", "penn13")
    np.testing.assert_array_equal(back[:, 1:], penn[:, 1:])  # the head has no COCO counterpart
    assert back[0, 0, 2] == 0


@pytest.mark.parametrize("args,match", [
    ((np.zeros((2, 17, 3)), "coco", "penn13"), "source must be one of"),
    ((np.zeros((2, 17, 3)), "coco17", "h36m"), "target must be one of"),
    ((np.zeros((2, 13, 3)), "coco17", "penn13"), r"\(T, 17, 2 or 3\)"),
    ((np.zeros((2, 17, 4)), "coco17", "penn13"), "got shape"),
    ((np.zeros((17, 3)), "coco17", "penn13"), "got shape"),
])
def test_bad_input_is_refused(args, match):
    with pytest.raises(ValueError, match=match):
        convert_keypoints(*args)


# Actions whose front-view videos face the camera throughout (turning actions such as golf
# swings or pitches change the apparent side within a video).
FRONT_FACING = ["jumping_jacks", "jump_rope", "pullup", "clean_and_jerk", "squat", "strum_guitar"]


def _left_on_image_left(annotations, keep):
    """Frames with both shoulders (and both hips) visible, and the fraction where Penn's "left" x < "right" x."""
    n = left = 0
    for action, view, x, visibility in zip(annotations.actions, annotations.views, annotations.x,
                                           annotations.visibility):
        if not keep(action, view):
            continue
        for l, r in ((1, 2), (7, 8)):  # shoulders, hips
            both = (visibility[:, l] > 0) & (visibility[:, r] > 0)
            n += int(both.sum())
            left += int((x[both, l] < x[both, r]).sum())
    return n, left / n


def test_penn_left_is_the_persons_right_on_the_data(penn_root):
    annotations = load_penn_action_annotations(root=penn_root, split="all", with_phases=False)
    n_front, front = _left_on_image_left(annotations, lambda a, v: v == "front" and a in FRONT_FACING)
    n_back, back = _left_on_image_left(annotations, lambda a, v: v == "back" and a == "bowl")
    print(f"front view ({FRONT_FACING}): Penn 'left' on the image left in {front:.4f} of {n_front} joint "
          f"pairs; back-view bowl: {back:.4f} of {n_back}")
    # front view: the person's right appears on the image left; back view: on the image right
    assert n_front > 10_000 and front > 0.99
    assert n_back > 10_000 and back < 0.01
