"""The report's figures: specs made from the analysis values (``specs.py``), drawn by
matplotlib in worker processes (``render.py``)."""

#: the ADSL columns the figures read (``specs.consort_spec``, ``specs.swimmer_specs`` and
#: the remission count of ``specs.all_specs``): the figures step reads these alone
ADSL_COLUMNS = (
    "USUBJID",
    "SAFFL",
    "EFFFL",
    "PPROTFL",
    "NINFCAT",
    "DISPSTAT",
    "TRTSDT",
    "DTHDT",
    "LSTALVDT",
    "FRMDT",
    "HSCTDT",
    "NTHERDT",
    "RELDT",
)
