"""Flow matching for the Voicebox audio model: everything between the data and the model.

Depends on torch only and never imports ``voiceflow.models``; the model enters as a plain
callable. The parts:

``path``          OT conditional path: ``ot_path``, ``sample_time``
``masking``       training span masks: ``span_mask``, ``padding_mask``,
                  ``phone_boundaries``, ``span_from_times``
``loss``          ``masked_mse`` (training), ``masked_l1`` (reports)
``conditioning``  ``build_context``, ``drop_conditions`` (guidance dropout)
``solvers``       fixed-step ``odeint`` (euler, midpoint), ``time_grid``, ``nfe_of``
``guidance``      ``cfg_velocity``, ``guided_field`` (classifier-free guidance)

A training step, with B utterances of T frames and D mel bins::

    from voiceflow import flow
    mask = flow.span_mask(phones, lengths, 0.3, 0.7, 1.0, generator=g)      # (B, T)
    x_ctx, phones_in, _ = flow.drop_conditions(flow.build_context(x1, mask), phones, 0.2, g)
    t = flow.sample_time(B, generator=g, device=x1.device)                   # (B,)
    x_t, u_t = flow.ot_path(torch.randn_like(x1), x1, t, 1e-5)               # (B, T, D)
    loss = flow.masked_mse(model(x_t, t, x_ctx, phones_in, lengths), u_t, mask)
"""

from voiceflow.flow.conditioning import build_context, drop_conditions
from voiceflow.flow.guidance import cfg_velocity, guided_field
from voiceflow.flow.loss import masked_l1, masked_mse
from voiceflow.flow.masking import padding_mask, phone_boundaries, span_from_times, span_mask
from voiceflow.flow.path import ot_path, sample_time
from voiceflow.flow.solvers import METHODS, nfe_of, odeint, time_grid

__all__ = [
    "METHODS",
    "build_context",
    "cfg_velocity",
    "drop_conditions",
    "guided_field",
    "masked_l1",
    "masked_mse",
    "nfe_of",
    "odeint",
    "ot_path",
    "padding_mask",
    "phone_boundaries",
    "sample_time",
    "span_from_times",
    "span_mask",
    "time_grid",
]
