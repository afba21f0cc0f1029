#!/usr/bin/env bash
# The seed's run_train_creative_agent_fixed.sh: its recommended config (--preset seed_fixed:
# no reconstruction, balance 10, novelty 0.5, corr 0.5, gan 0.1). DDP through torchrun on
# this machine.
#
#   NPROC   processes (default: the number of GPUs, else 2)
#   PYTHON  interpreter with the project installed (default: python)
#   OUT     run folder (default: checkpoints_creative_agent_fixed); --out in the arguments wins
# Extra arguments go to `python -m training.train` (flags override the preset).
set -euo pipefail
PYTHON=${PYTHON:-python}
if [[ -z "${NPROC:-}" ]]; then
  NPROC=$("$PYTHON" -c 'import torch; print(torch.cuda.device_count() or 2)')
fi
exec "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node="$NPROC" \
  -m training.train --preset seed_fixed --out "${OUT:-checkpoints_creative_agent_fixed}" "$@"
