"""Test-wide setup: quiet pandera's import notice and keep torch to one thread (2 shared cores)."""

import os

os.environ.setdefault("DISABLE_PANDERA_IMPORT_WARNING", "True")

import torch  # noqa: E402  (after the environment is set)

torch.set_num_threads(1)
