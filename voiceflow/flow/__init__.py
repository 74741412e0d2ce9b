"""Flow matching for the Voicebox audio model: everything between the data and the model.

Depends on torch (and scipy for the OT coupling) only and never imports ``voiceflow.models``; the model enters as a plain
callable. The parts:

``path``          conditional paths (``ot``, ``icfm``): ``make_path``, ``ot_path``, ``sample_time``
``coupling``      noise-data pairing (independent, minibatch OT): ``couple``, ``ot_pairing``
``masking``       training span masks: ``span_mask``, ``padding_mask``,
                  ``phone_boundaries``, ``span_from_times``
``loss``          ``masked_mse`` (training), ``masked_l1`` (reports)
``conditioning``  ``build_context``, ``drop_conditions`` (guidance dropout)
``solvers``       fixed-step ``odeint`` (euler, midpoint, stochastic_euler), ``time_grid``
                  (uniform or sway), ``nfe_of``
``guidance``      ``cfg_velocity``, ``guided_field`` (classifier-free guidance)
``likelihood``    ``log_likelihood`` (exact or Hutchinson divergence, masked variables)

A training step, with B utterances of T frames and D mel bins::

    from voiceflow import flow
    mask = flow.span_mask(phones, lengths, 0.3, 0.7, 1.0, generator=g)      # (B, T)
    x_ctx, phones_in, _ = flow.drop_conditions(flow.build_context(x1, mask), phones, 0.2, g)
    t = flow.sample_time(B, generator=g, device=x1.device)                   # (B,)
    x0 = flow.couple(torch.randn_like(x1), x1, mask, "independent")          # or "ot"
    x_t, u_t = flow.make_path("ot", sigma_min=1e-5).sample(x0, x1, t)        # (B, T, D)
    loss = flow.masked_mse(model(x_t, t, x_ctx, phones_in, lengths), u_t, mask)
"""

from voiceflow.flow.conditioning import build_context, drop_conditions
from voiceflow.flow.coupling import COUPLINGS, couple, ot_pairing, pairing_cost
from voiceflow.flow.guidance import cfg_velocity, guided_field
from voiceflow.flow.likelihood import LikelihoodResult, log_likelihood
from voiceflow.flow.loss import masked_l1, masked_mse
from voiceflow.flow.masking import padding_mask, phone_boundaries, span_from_times, span_mask
from voiceflow.flow.path import PATHS, IndependentPath, OTPath, make_path, ot_path, sample_time
from voiceflow.flow.solvers import METHODS, SCHEDULES, nfe_of, odeint, sway, time_grid

__all__ = [
    "COUPLINGS",
    "IndependentPath",
    "LikelihoodResult",
    "METHODS",
    "OTPath",
    "PATHS",
    "SCHEDULES",
    "build_context",
    "cfg_velocity",
    "couple",
    "drop_conditions",
    "guided_field",
    "log_likelihood",
    "make_path",
    "masked_l1",
    "masked_mse",
    "nfe_of",
    "odeint",
    "ot_pairing",
    "ot_path",
    "pairing_cost",
    "padding_mask",
    "phone_boundaries",
    "sample_time",
    "span_from_times",
    "span_mask",
    "sway",
    "time_grid",
]
