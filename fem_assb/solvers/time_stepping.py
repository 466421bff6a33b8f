"""Adaptive implicit Euler with cut-and-retry and cut-off location (DESIGN §3).

The stepper is generic: it drives a ``system`` that offers

- ``save() -> state`` / ``restore(state)``: the accepted state (the previous time level);
- ``step(dt) -> NewtonResult``: one implicit Euler step of length dt (s) from the saved state;
- ``voltage() -> float`` (V) and ``max_change() -> float`` (largest stoichiometry change of the
  step, -).

Rules: a step that did not converge is never accepted; it is cut by ``shrink`` and retried. A
converged step whose voltage changed more than ``dU_max`` (V) or whose stoichiometry changed
more than ``dx_max`` is also cut, to the length that would have met the limits (with a safety
factor 0.8, at least a cut by ``shrink``). After an accepted step the next one is sized so the
predicted change uses 0.8 of the limits (the last step's rates, the voltage rate times its growth
over that step): at most ``grow`` times longer (only after an easy convergence, at most
``easy_iterations`` Newton iterations and no retry), at least 4 times shorter. When the voltage
crosses the cut-off, the crossing time is located by secant interpolation and the step is
re-solved to land on it (|U - U_cut| < ``v_tol``, or the crossing bracketed within 1e-3 of the
step on a vertical plunge).

Resumable: the controller's state between two accepted steps is a :class:`SegmentState` (time,
next step length, last voltage and voltage rate). ``run_segment(..., state=s)`` starts from ``s``
and keeps it up to date before every ``on_step`` call, so a checkpoint written from ``on_step``
(:mod:`fem_assb.studies.checkpoint`) continues with the same steps as the uninterrupted run.
"""

from __future__ import annotations

from dataclasses import dataclass

from fem_assb.errors import SolverError


@dataclass
class StepControl:
    """Step-size control (times in s, voltages in V)."""

    dt_initial: float = 1.0
    dt_min: float = 1e-6
    dt_max: float = 600.0
    grow: float = 1.5
    shrink: float = 0.25
    easy_iterations: int = 5
    dU_max: float = 0.02
    dx_max: float = 0.05
    v_tol: float = 2e-4


@dataclass
class SegmentState:
    """The step controller between two accepted steps: what :func:`run_segment` goes on from.

    t [s]: time reached; dt [s]: length of the next step (before it is clipped to the segment's
    end); u_prev [V]: voltage of the last accepted state; rate_prev [V/s]: |dU/dt| of the last
    accepted step (None before the first); done: "cutoff" once the segment ended on its cut-off.
    """

    t: float
    dt: float
    u_prev: float
    rate_prev: float | None = None
    done: str | None = None


@dataclass
class StepRecord:
    t: float  # s, end of the step
    dt: float  # s
    voltage: float  # V
    newton: int
    linear: int
    rejected: int  # retries before this step was accepted


def run_segment(
    system,
    *,
    duration: float,
    cutoff=None,
    control: StepControl | None = None,
    t0: float = 0.0,
    dt: float | None = None,
    on_step=None,
    state: SegmentState | None = None,
):
    """Advance ``system`` for at most ``duration`` (s) or until the voltage crosses ``cutoff``.

    cutoff: None, or (U_cut [V], direction) with direction -1 (stop when U <= U_cut, discharge)
    or +1 (stop when U >= U_cut, charge). on_step(record) is called after every accepted step.
    t0 [s]: start of the segment (its end is t0 + duration); dt [s]: first step. state: a
    :class:`SegmentState` to go on from (a resumed run; then t0 is still the segment's start),
    updated in place before every on_step call. Returns (list of StepRecord, reason) with reason
    "cutoff", "duration".
    """
    ctl = control or StepControl()
    seg = state
    if seg is None:
        seg = SegmentState(t0, min(dt or ctl.dt_initial, ctl.dt_max), system.voltage())
    if seg.done:
        return [], seg.done
    t_end = t0 + duration
    records = []
    t, dt, u_prev = seg.t, seg.dt, seg.u_prev
    rate_prev = seg.rate_prev  # |dU/dt| of the last accepted step (V/s)
    while t < t_end * (1 - 1e-14) - 1e-12:
        dt = min(dt, t_end - t)
        state = system.save()
        rejected = 0
        while True:
            res = system.step(dt)
            ok = res.converged
            ratio = ratio_x = 0.0  # largest change of the step relative to its limit
            if ok:
                u_new = system.voltage()
                ratio_x = system.max_change() / ctl.dx_max
                ratio = max(abs(u_new - u_prev) / ctl.dU_max, ratio_x)
                too_big = ratio > 1.0
                crossed = cutoff is not None and (u_new - cutoff[0]) * cutoff[1] >= 0
                # Near the cut-off accept a large voltage change only if it lands on the crossing below.
                if (
                    too_big
                    and dt > ctl.dt_min * 1.0001
                    and not (crossed and abs(u_prev - cutoff[0]) < ctl.dU_max)
                ):
                    ok = False
            if ok:
                break
            system.restore(state)
            rejected += 1
            if dt <= ctl.dt_min * 1.0001:
                raise SolverError(
                    f"time step cut below dt_min = {ctl.dt_min:g} s at t = {t:.6g} s "
                    f"({res.reason or 'step too large'}); "
                    "the cell cannot follow the requested operation (for example a surface saturated "
                    "before the cut-off voltage). Lower the current or raise the cut-off."
                )
            cut = ctl.shrink if not res.converged else min(max(0.8 / ratio, ctl.shrink), 0.9)
            dt = max(dt * cut, ctl.dt_min)
        if cutoff is not None and (u_new - cutoff[0]) * cutoff[1] >= 0:
            dt, u_new, res, rejected = _locate_cutoff(
                system, state, dt, u_prev, u_new, cutoff, ctl, res, rejected
            )
            t += dt
            rec = StepRecord(t, dt, u_new, res.iterations, res.linear_iterations, rejected)
            records.append(rec)
            seg.t, seg.u_prev, seg.done = t, u_new, "cutoff"
            if on_step:
                on_step(rec)
            return records, "cutoff"
        t += dt
        rec = StepRecord(t, dt, u_new, res.iterations, res.linear_iterations, rejected)
        records.append(rec)
        # Next step: sized so the predicted change uses 0.8 of the limits, with the voltage rate
        # extrapolated by its growth over the last step (a plunge accelerates: sized on the last
        # rate alone every step of the end of discharge was first rejected, docs/discharge.md).
        rate = abs(u_new - u_prev) / dt
        accel = min(max(rate / rate_prev, 1.0), 4.0) if rate_prev else 1.0
        ratio_next = max(abs(u_new - u_prev) / ctl.dU_max * accel, ratio_x)
        rate_prev, u_prev = rate, u_new
        easy = res.iterations <= ctl.easy_iterations and rejected == 0
        factor = 0.8 / ratio_next if ratio_next > 0 else ctl.grow
        dt = min(dt * min(max(factor, ctl.shrink), ctl.grow if easy else 1.0), ctl.dt_max)
        seg.t, seg.dt, seg.u_prev, seg.rate_prev = t, dt, u_prev, rate_prev
        if on_step:  # after the next step is sized: a checkpoint here holds the whole controller
            on_step(rec)
    return records, "duration"


def _locate_cutoff(system, state, dt, u0, u1, cutoff, ctl, res, rejected):
    """Secant search for the step length that lands on the cut-off voltage."""
    target = cutoff[0]
    lo, ulo = 0.0, u0  # bracket: [lo, hi] with U(lo) on the safe side, U(hi) across
    hi, uhi = dt, u1
    best = (dt, u1, res)
    holds_best = True  # the system holds the state of best (the crossing step it came with)
    for _ in range(12):
        # Located when the voltage is within v_tol, or when the bracket is below 1e-3 of the step
        # (on a vertical plunge the capacity is then exact to 1e-3 of one step's, whatever U is).
        if abs(best[1] - target) < ctl.v_tol or hi - lo <= 1e-3 * dt:
            break
        denom = uhi - ulo
        trial = lo + (hi - lo) * (target - ulo) / denom if denom != 0 else 0.5 * (lo + hi)
        trial = min(max(trial, lo + 0.05 * (hi - lo)), hi - 0.05 * (hi - lo))
        system.restore(state)
        r = system.step(trial)
        holds_best = False
        if not r.converged:
            hi = trial
            continue
        uu = system.voltage()
        if (uu - target) * cutoff[1] >= 0:
            hi, uhi = trial, uu
            best, holds_best = (trial, uu, r), True
        else:
            lo, ulo = trial, uu
            if abs(uu - target) < ctl.v_tol:
                best, holds_best = (trial, uu, r), True
                break
    if holds_best:
        return best[0], best[1], best[2], rejected
    # Re-solve the chosen step so the system holds its state.
    system.restore(state)
    r = system.step(best[0])
    if not r.converged:
        raise SolverError("the cut-off step did not converge on re-solve.")
    return best[0], system.voltage(), r, rejected
