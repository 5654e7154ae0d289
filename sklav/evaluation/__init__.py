"""Evaluation companions: estimators, scorers and protocols on per-frame embeddings.

They work on any per-frame embeddings (a list of ``(T_i, D)`` arrays, one per
video), alone or after an encoder in a :class:`~sklearn.pipeline.Pipeline`.
Definitions follow the LAV paper and TCC (Dwibedi et al. 2019); each
docstring states its exact definition.

- :class:`PhaseClassifier`: per-frame phase classification (SVM by default).
- :class:`ProgressRegressor`: TCC phase progression (linear regression).
- :class:`KendallTauScorer`: alignment score, needs no labels.
- :class:`FrameRetrievalAP`: fine-grained frame retrieval AP@K.
- :class:`PhaseAgreementScorer`: phase agreement of cross-video frame matches.
- :func:`few_shot_scores`: accuracy with few labelled videos (plotted by
  :func:`sklav.plotting.plot_few_shot_curves`).
- :func:`evaluate`: the paper's table in one call; :class:`ScoreTable` holds it.

Which scoring to use in ``GridSearchCV`` / ``cross_validate``:

- ``scoring=None`` with a Pipeline ending in :class:`PhaseClassifier` or
  :class:`ProgressRegressor`: their ``score`` (accuracy, mean R^2).
- ``scoring=KendallTauScorer()``: no labels needed (``fit(videos)``).
- ``scoring=FrameRetrievalAP(k)``, ``scoring=PhaseAgreementScorer()``:
  need per-frame labels ``y``.

scikit-learn's string scorers (``scoring='accuracy'``, ``'r2'``, ...) expect
one target per sample; here a sample is a video with a whole array of
per-frame labels, so they fail and ``GridSearchCV`` reports NaN. Do not use
them; split with ``KFold`` or ``GroupKFold`` over videos.
"""

from .estimators import PhaseClassifier, ProgressRegressor
from .few_shot import few_shot_scores
from .report import evaluate
from .scorers import FrameRetrievalAP, KendallTauScorer, PhaseAgreementScorer
from .table import ScoreTable

__all__ = [
    "FrameRetrievalAP",
    "KendallTauScorer",
    "PhaseAgreementScorer",
    "PhaseClassifier",
    "ProgressRegressor",
    "ScoreTable",
    "evaluate",
    "few_shot_scores",
]
