"""The baseline network: preprocessing and weights in one scriptable module.

Kept apart from :mod:`pipelines.baselines` so that ``import torch`` happens
only when a baseline is built or trained.
"""

import torch
from torch import Tensor, nn

__all__ = ["BaselineNet"]


class BaselineNet(nn.Module):
    """Standardise numeric inputs, one-hot categorical codes, then a linear model or MLP.

    Parameters
    ----------
    numeric, categorical : list of str
        Input column names, in input order.
    vocabularies : list of list of str
        Known values of each categorical column (code = index; -1 = unknown).
    mean, std : list of float
        Standardisation of the numeric columns (learned on the train split).
    algorithm : {"logistic", "mlp"}
        One linear layer, or ``Linear -> ReLU -> Linear``.
    hidden : int
        Width of the MLP's hidden layer.
    """

    numeric_features: list[str]
    categorical_features: list[str]
    vocabularies: list[list[str]]
    algorithm: str
    mean: Tensor
    std: Tensor
    offsets: Tensor

    def __init__(self, numeric: list[str], categorical: list[str], vocabularies: list[list[str]],
                 mean: list[float], std: list[float], algorithm: str, hidden: int) -> None:
        super().__init__()
        self.numeric_features = list(numeric)
        self.categorical_features = list(categorical)
        self.vocabularies = [list(v) for v in vocabularies]
        self.algorithm = algorithm
        sizes = [len(v) for v in vocabularies]
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        self.n_onehot = int(sum(sizes))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(1, -1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(1, -1))
        self.register_buffer("offsets", torch.tensor(offsets, dtype=torch.int64).reshape(1, -1))
        width = len(numeric) + self.n_onehot
        if algorithm == "logistic":
            self.net = nn.Sequential(nn.Linear(width, 1))
        else:
            self.net = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def features(self, numeric: Tensor, categorical: Tensor) -> Tensor:
        """Return the model input: standardised numerics (missing -> 0) and one-hot codes."""
        x = torch.nan_to_num((numeric - self.mean) / self.std, nan=0.0, posinf=0.0, neginf=0.0)
        if self.n_onehot == 0:
            return x
        onehot = torch.zeros((categorical.shape[0], self.n_onehot), dtype=x.dtype)
        known = (categorical >= 0).to(x.dtype)
        onehot.scatter_(1, categorical.clamp(min=0) + self.offsets, known)
        return torch.cat([x, onehot], dim=1)

    def forward(self, numeric: Tensor, categorical: Tensor) -> Tensor:
        """Return the probability of the positive class, one per row."""
        return torch.sigmoid(self.net(self.features(numeric, categorical))).squeeze(1)
