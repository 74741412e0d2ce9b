"""Train or fine-tune a vocos vocoder on a corpus's own audio (GAN training with accelerate).

Usage::

    python -m voiceflow.bin.train_vocoder --config conf/vocos.yaml \\
        data.train_manifest=data/manifests/train.jsonl data.valid_manifest=data/manifests/dev.jsonl
    # fine-tune the public vocoder on the corpus (the generator starts from its weights)
    python -m voiceflow.bin.train_vocoder --config conf/vocos.yaml init_from=charactr/vocos-mel-24khz \\
        optim.lr=1e-4 train.max_steps=100000 train.exp_dir=exp/vocos_ft
    accelerate launch --num_processes 8 -m voiceflow.bin.train_vocoder --config conf/vocos.yaml
    # then vocode with it
    voiceflow generate ... --vocoder exp/vocos/vocos

Dotted ``key=value`` arguments override the YAML (an unknown key is an error; see
voiceflow/vocoder/train_config.py for every key and its vocos default). The run lives in
``train.exp_dir``: the resolved ``config.yaml``, ``checkpoints/``, TensorBoard logs in
``tb/`` and ``vocos/``, the newest generator as a vocos folder (config.yaml +
pytorch_model.bin) that ``--vocoder`` accepts. Running the same command again resumes from
the newest checkpoint.
"""

from __future__ import annotations

import json

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.vocoder.train_config import load_vocoder_config


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow train-vocoder", __doc__)
    parser.add_argument("--config", default=None, help="YAML config (default: the vocos-mel-24khz recipe)")
    parser.add_argument("--stop-at-step", type=int, default=None,
                        help="save and stop at this step (the schedule still follows train.max_steps)")
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides")
    args = parser.parse_args(argv)
    cfg = load_vocoder_config(args.config, args.overrides)

    from voiceflow.vocoder.training import VocoderTrainer  # heavy imports after argument checks

    trainer = VocoderTrainer(cfg)
    summary = trainer.fit(stop_at=args.stop_at_step)
    if trainer.acc.is_main_process:
        print(json.dumps({"exp_dir": cfg.train.exp_dir, **summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
