"""What a person sees and does while capturing: replay, breathing pacer, recovery forecast, web page.

- :mod:`calmtrace.live.replay`: any importable recording streamed through the virtual strap;
- :mod:`calmtrace.live.pacer`: a breathing pacer (rate, inhale/exhale ratio) and its event;
- :mod:`calmtrace.live.assess`: the resonance-frequency assessment run live;
- :mod:`calmtrace.live.forecast`: the recovery forecast after a stressor, updated with each beat;
- :mod:`calmtrace.live.history`: is this recovery on course against the person's earlier ones;
- :mod:`calmtrace.live.session`: the live tools of one capture and the state the views show;
- :mod:`calmtrace.live.server` and :mod:`calmtrace.live.page`: the local web page of a capture.

Documented in docs/live.md.

This part sits above :mod:`calmtrace.capture` (it attaches to a running capture) and below the
command line; analysis it needs lives in :mod:`calmtrace.signals` (pure functions of beats).
"""
