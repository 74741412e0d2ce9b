"""Train the Voicebox audio model with OT-CFM, or the duration model (a config with ``task: duration``).

Usage::

    python -m voiceflow.bin.train --config recipes/demo/conf/demo.yaml train.max_steps=200
    python -m voiceflow.bin.train --config recipes/demo/conf/duration.yaml train.exp_dir=exp/demo/duration
    accelerate launch --num_processes 8 -m voiceflow.bin.train --config conf/paper.yaml
    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 -m voiceflow.bin.train --config conf/x.yaml

Dotted ``key=value`` arguments override the YAML (an unknown key is an error). The run
lives in ``train.exp_dir``: the resolved ``config.yaml``, ``phones.txt``, ``stats.json``,
``checkpoints/`` and TensorBoard logs in ``tb/``. Running the same command again resumes
from the newest checkpoint. (Several CPU processes: ``accelerate launch --cpu`` starts
them only through mpirun; the line above runs them with torchrun, talking over gloo.)
"""

from __future__ import annotations

import json

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.config import load_config


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow train", __doc__)
    parser.add_argument("--config", required=True, help="YAML config")
    parser.add_argument("--stop-at-step", type=int, default=None,
                        help="save and stop at this step (the schedule still follows train.max_steps)")
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides")
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.overrides)

    from voiceflow.train.trainer import Trainer  # heavy imports after argument checks

    trainer = Trainer(cfg)
    summary = trainer.fit(stop_at=args.stop_at_step)
    if trainer.acc.is_main_process:
        print(json.dumps({"exp_dir": cfg.train.exp_dir, **summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
