"""The portfolio's code location: ``defs``, the definitions of the portfolio file
``TRIAL_PORTFOLIO`` names (``trial-outcomes ui --portfolio FILE`` sets it; the Helm
chart's user deployment sets it in deploy/helm/values.yaml)."""

from trial_outcomes.pipelines.portfolio import definitions_from_environment

defs = definitions_from_environment()
