"""Training throughput and inference speed of the audio model, for any preset, batch, NFE, device.

Usage::

    # training: real (non-padding) frames/s, peak memory, model FLOP utilisation
    python tools/benchmark.py train --preset paper --batch 16 --min-frames 600 --max-frames 1000 \\
        --precision bf16 --compile --pack-multiple 1024 [--steps 20] [--device cuda]
    # inference: real-time factor of the ODE sampler (no vocoder), one line per batch size
    python tools/benchmark.py infer --preset paper --batch 1,16 --frames 940 --nfe 32 \\
        --guidance 0,0.7 --compile --cuda-graph [--dtype bf16]

The training step is the trainer's own (:func:`voiceflow.train.trainer.optimization_step`:
the Voicebox objective with span masks and guidance dropout, bf16 autocast over float32
weights, clipping at 0.2, fused AdamW, EMA). Batches hold ``--batch`` utterances of lengths
drawn uniformly from [min, max] frames, fresh lengths every step (from a pool of
``--pool`` batches, so that compiled shapes are warm). FLOPs are counted analytically:
6 x (matmul parameters) per token, 6 x the conv positional embedding's multiply-adds per
frame, and 12 x layers x width x sum(tokens per utterance ^ 2) for attention, i.e. only the
work of real tokens; MFU is against the H100 dense bf16 datasheet rate (989.4 TFLOP/s, as
in shared/bench) and against a bf16 8192^3 matmul measured in the same run. Each result is
printed as one JSON line (and appended to ``--out``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voiceflow.config import load_config  # noqa: E402
from voiceflow.models import VoiceboxAudioModel  # noqa: E402
from voiceflow.models.packing import ATTENTION_LAYOUTS  # noqa: E402

H100_BF16_DENSE = 989.4e12  # H100 SXM datasheet, dense bf16 (as in shared/bench/peers_gpu.py)
N_PHONES = 100


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device) -> float | None:
    if device.type != "cuda":
        return None
    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    sync(device)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        a @ b
    end.record()
    sync(device)
    return 2 * 8192 ** 3 * 10 / (start.elapsed_time(end) / 1e3)


def build_model(args, device) -> VoiceboxAudioModel:
    overrides = [f"model.preset={args.preset}", f"model.n_phones={N_PHONES}",
                 f"model.pack_multiple={args.pack_multiple}", f"model.attention={args.attention}"]
    cfg = load_config(None, overrides + list(args.set or []))
    torch.manual_seed(0)
    return VoiceboxAudioModel(cfg.model, cfg.mel.n_mels).to(device), cfg


def model_flops(model: VoiceboxAudioModel, lengths: list[int], train: bool) -> float:
    """Analytic FLOPs of the real tokens (forward only, or forward + backward)."""
    matmul = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear)
                 and m not in model.time_embed.modules())
    conv = model.conv_pos.conv
    conv_macs = conv.in_channels // conv.groups * conv.out_channels * conv.kernel_size[0]
    tokens = sum(n + 1 for n in lengths)
    frames = sum(lengths)
    cfg = model.cfg
    attn = 4 * cfg.depth * cfg.dim * sum((n + 1) ** 2 for n in lengths)  # QK^T and AV, forward
    forward = 2 * matmul * tokens + 2 * conv_macs * frames + attn
    return 3 * forward if train else forward


def random_batch(batch: int, lo: int, hi: int, n_mels: int, gen: torch.Generator) -> dict:
    lengths = torch.randint(lo, hi + 1, (batch,), generator=gen)
    T = int(lengths.max())
    mel = torch.randn(batch, T, n_mels, generator=gen)
    phones = torch.zeros(batch, T, dtype=torch.long)
    for b, n in enumerate(lengths.tolist()):  # phones of 4-12 frames, like speech at ~94 frames/s
        durations = torch.randint(4, 13, (n,), generator=gen)
        ids = torch.randint(1, N_PHONES, (n,), generator=gen)
        phones[b, :n] = torch.repeat_interleave(ids, durations)[:n]
        mel[b, n:] = 0
    return {"mel": mel.pin_memory() if torch.cuda.is_available() else mel, "phones": phones, "lengths": lengths,
            "ids": [str(i) for i in range(batch)]}


def bench_train(args, device, peak) -> dict:
    from accelerate import Accelerator

    from voiceflow.train.ema import EMA
    from voiceflow.train.schedule import make_scheduler
    from voiceflow.train.trainer import optimization_step

    acc = Accelerator(mixed_precision=args.precision, cpu=device.type == "cpu")
    model, cfg = build_model(args, device)
    cfg.train.grad_clip = 0.2
    ema = EMA(model, 0.9999)
    if args.compile:
        model.compile_blocks(dynamic=args.dynamic)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    model, opt = acc.prepare(model, opt)
    sched = make_scheduler(opt, 5000, 500_000)
    gen = torch.Generator().manual_seed(0)
    pool = [random_batch(args.batch, args.min_frames, args.max_frames, cfg.mel.n_mels, gen) for _ in range(args.pool)]
    step = lambda b: optimization_step(acc, model, opt, sched, ema, [b], cfg)  # noqa: E731
    t_compile = time.perf_counter()
    for i in range(args.warmup):
        step(pool[i % len(pool)])
    sync(device)
    t_compile = time.perf_counter() - t_compile
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    flops, frames = [], []
    events = []
    sync(device)
    t_start = time.perf_counter()
    for i in range(args.steps):  # no host sync between steps, as in training
        b = pool[i % len(pool)]
        ev = (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) \
            if device.type == "cuda" else None
        if ev:
            ev[0].record()
        step(b)
        if ev:
            ev[1].record()
        events.append(ev)
        lengths = b["lengths"].tolist()
        frames.append(sum(lengths))
        flops.append(model_flops(acc.unwrap_model(model), lengths, train=True))
    sync(device)
    total_t = time.perf_counter() - t_start
    if args.profile:
        profile_steps(step, pool, device)
    times = [a.elapsed_time(b) / 1e3 for a, b in events] if device.type == "cuda" else [total_t / args.steps]
    rec = {"kind": "train", "preset": args.preset, "attention": args.attention, "precision": args.precision,
           "compile": args.compile, "batch": args.batch, "frames": [args.min_frames, args.max_frames],
           "pack_multiple": args.pack_multiple,
           "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
           "step_ms_median": round(statistics.median(times) * 1e3, 2),
           "real_frames_per_s": round(sum(frames) / total_t, 1),
           "padded_fraction_real": round(sum(frames) / (args.steps * args.batch * args.max_frames), 3),
           "achieved_tflops": float(f"{sum(flops) / total_t / 1e12:.3g}"),
           "warmup_s": round(t_compile, 1)}
    if device.type == "cuda":
        rec["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
        rec["mfu_vs_spec"] = round(sum(flops) / total_t / H100_BF16_DENSE, 4)
        if peak:
            rec["mfu_vs_measured_matmul"] = round(sum(flops) / total_t / peak, 4)
    return rec


def profile_steps(step, pool, device, n: int = 3) -> None:
    """Print where the time of ``n`` steps goes, by kernel (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for i in range(n):
            step(pool[i % len(pool)])
        sync(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=30, max_name_column_width=70), flush=True)


def bench_infer(args, device, peak) -> list[dict]:
    from voiceflow.infer.sampler import InfillSampler

    model, cfg = build_model(args, device)
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}[args.dtype]
    model = model.to(dtype).eval().requires_grad_(False)
    if args.compile:
        model.compile_blocks(dynamic=args.dynamic)
    sampler = InfillSampler(model, cuda_graph=args.cuda_graph)
    audio_s = args.frames * cfg.mel.hop_length / cfg.mel.sample_rate  # as shared/bench: frames x hop / sr
    out = []
    for guidance in [float(g) for g in args.guidance.split(",")]:
        for batch in [int(b) for b in args.batch.split(",")]:
            gen = torch.Generator().manual_seed(0)
            b = random_batch(batch, args.frames, args.frames, cfg.mel.n_mels, gen)
            x_ctx = b["mel"] * (torch.rand(batch, args.frames, 1, generator=gen) > 0.7)
            x0 = torch.randn(b["mel"].shape, generator=gen)
            run = lambda: sampler.sample(x_ctx, b["phones"], b["lengths"], x0, args.nfe, args.solver, guidance)  # noqa
            t0 = time.perf_counter()
            y = run()
            sync(device)
            warm = time.perf_counter() - t0
            times = []
            for _ in range(args.reps):
                sync(device)
                t0 = time.perf_counter()
                y = run()
                sync(device)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            check = {}
            if args.check and args.cuda_graph:  # the graph replays the same computation as eager code
                ref = InfillSampler(model).sample(x_ctx, b["phones"], b["lengths"], x0, args.nfe, args.solver, guidance)
                check = {"graph_vs_eager_rel_err": round(((y - ref).norm() / ref.norm()).item(), 5)}
            flops = model_flops(model, [args.frames] * batch, train=False) * args.nfe * (2 if guidance else 1)
            rec = {"kind": "infer", "preset": args.preset, "attention": args.attention, "dtype": args.dtype,
                   "compile": args.compile, "pack_multiple": args.pack_multiple,
                   "cuda_graph": args.cuda_graph, "batch": batch, "frames": args.frames, "nfe": args.nfe,
                   "solver": args.solver, "guidance": guidance, "time_s_median": round(med, 4),
                   "rtf": round(med / (batch * audio_s), 5), "ms_per_nfe": round(med / args.nfe * 1e3, 2),
                   "achieved_tflops": float(f"{flops / med / 1e12:.3g}"), "first_call_s": round(warm, 1),
                   "finite": bool(torch.isfinite(y).all()), **check}
            if device.type == "cuda":
                rec["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
            out.append(rec)
            print(json.dumps(rec), flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("train", "infer"))
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--set", action="append", help="extra config override, e.g. model.depth=12")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--compile", action="store_true", help="torch.compile each transformer block")
    parser.add_argument("--attention", default="auto", choices=("auto",) + ATTENTION_LAYOUTS,
                        help="model.attention: auto = flex on CUDA (the packed sequence), sdpa on the CPU")
    parser.add_argument("--dynamic", action="store_true", help="compile for any packed length")
    parser.add_argument("--pack-multiple", type=int, default=None,
                        help="round the packed length up to a multiple of this (default: 1024 for train, so that "
                             "compiled shapes repeat; 1 for infer, as voiceflow's inference packs)")
    parser.add_argument("--out", default=None, help="append JSON lines here")
    # training
    parser.add_argument("--batch", default="16", help="utterances per batch (infer: a comma list)")
    parser.add_argument("--min-frames", type=int, default=600)
    parser.add_argument("--max-frames", type=int, default=1000)
    parser.add_argument("--precision", default=None, choices=("no", "bf16", "fp16"),
                        help="training autocast (default: bf16 on CUDA, no on the CPU, which lacks fast bf16 here)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=12)
    parser.add_argument("--pool", type=int, default=6)
    parser.add_argument("--profile", action="store_true", help="print a per-kernel profile of 3 steps")
    # inference
    parser.add_argument("--frames", type=int, default=940)
    parser.add_argument("--nfe", type=int, default=32)
    parser.add_argument("--solver", default="euler")
    parser.add_argument("--guidance", default="0")
    parser.add_argument("--dtype", default=None, choices=("bf16", "fp16", "fp32"),
                        help="inference weights (default: bf16 on CUDA, fp32 on the CPU)")
    parser.add_argument("--cuda-graph", action="store_true")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="compare the CUDA-graph output with eager sampling")
    args = parser.parse_args(argv)
    if args.pack_multiple is None:
        args.pack_multiple = 1024 if args.mode == "train" else 1
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    args.precision = args.precision or ("bf16" if cuda else "no")
    args.dtype = args.dtype or ("bf16" if cuda else "fp32")
    if args.mode == "train":
        args.batch = int(args.batch)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch._dynamo.config.cache_size_limit = 64
    peak = matmul_peak(device)
    env = {"kind": "env", "torch": torch.__version__, "device": str(device),
           "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
           "matmul_bf16_tflops": round(peak / 1e12, 1) if peak else None}
    print(json.dumps(env), flush=True)
    records = [bench_train(args, device, peak)] if args.mode == "train" else bench_infer(args, device, peak)
    if args.mode == "train":
        print(json.dumps(records[0]), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            for r in [env] + records:
                f.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
