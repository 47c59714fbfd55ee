"""The derivation rules in force: read from the workflow config, and stated in words for the audit and
the report (the rules themselves are stated in ``derivation``'s docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

from chartreview.core.errors import InputError


class DerivationError(InputError):
    """The extracted tables or the config cannot be derived (the message names record, field, value)."""


@dataclass(frozen=True)
class Rules:
    """The derivation rules in force, read from the workflow config."""

    groups: dict
    time_unit_days: float
    sd_min_days: int
    confirmation: bool
    confirmation_min_days: int
    censor_at_new_therapy: bool
    cns_competing: tuple
    window_days: int

    @classmethod
    def from_config(cls, config: dict) -> Rules:
        try:
            ep = config["endpoints"]
            return cls(groups=dict(config["groups"]), time_unit_days=float(config["time_unit_days"]),
                       sd_min_days=int(ep["response"]["sd_min_days"]),
                       confirmation=bool(ep["response"]["confirmation"]),
                       confirmation_min_days=int(ep["response"]["confirmation_min_days"]),
                       censor_at_new_therapy=bool(ep["pfs"]["censor_at_new_therapy"]),
                       cns_competing=tuple(ep["cns"]["competing"]),
                       window_days=int(ep["progression"]["window_days"]))
        except KeyError as exc:
            raise DerivationError(f"config: the key {exc.args[0]!r} that derivation needs is missing") from None

    def as_dict(self) -> dict:
        return {"groups": self.groups, "time_unit_days": self.time_unit_days,
                "endpoints": {"response": {"sd_min_days": self.sd_min_days,
                                           "confirmation": self.confirmation,
                                           "confirmation_min_days": self.confirmation_min_days},
                              "pfs": {"censor_at_new_therapy": self.censor_at_new_therapy},
                              "cns": {"competing": list(self.cns_competing)},
                              "progression": {"window_days": self.window_days}}}


def rules_in_force(config: dict) -> list[tuple[str, str]]:
    """The derivation rules of a config (or of ``Rules.as_dict()``) in words, for the audit and the report."""
    rules = Rules.from_config(config)
    return [
        ("Groups (label: fusion_gene code)", ", ".join(f"{k}: {v}" for k, v in rules.groups.items())),
        ("Index date", f"criz_start_date; days are date differences; months = days / {rules.time_unit_days}"),
        ("Response window", "tumor assessments after the index date, on or before the first subsequent therapy"),
        ("Best overall response", f"RECIST 1.1 up to the first PD, best of CR > PR > SD > PD > NE; SD counts from "
                                  f"day {rules.sd_min_days}; confirmation of CR/PR "
                                  + (f"required (at least {rules.confirmation_min_days} days later, admiral rules)"
                                     if rules.confirmation else "not required")),
        ("ORR and DCR", "(CR + PR) and (CR + PR + SD) over all patients of the group"),
        ("PFS", "first PD assessment, progression row or death (before progression); otherwise censored at the "
                "last adequate assessment (day 0 without one); "
                + ("censored at the last adequate assessment before a new therapy"
                   if rules.censor_at_new_therapy else "events after a new therapy count")),
        ("OS", "death; otherwise censored at last contact"),
        ("CNS progression", "first progression row with site Brain (status 1); competing (status 2): "
                            + ", ".join(c.replace("_", " ") for c in rules.cns_competing)
                            + "; otherwise censored at last contact"),
        ("Progression pattern", f"progression rows from the first progression to {rules.window_days} days later"),
        ("Duration of response", "responders (best overall response CR or PR"
                                 + (", confirmed" if rules.confirmation else "")
                                 + ") from the first CR/PR assessment in the response window to PD or death, "
                                   "censored as PFS is: the response lasts until the PFS event"),
        ("Time to treatment discontinuation", "criz_end_date, whatever criz_end_reason says (tabulated); a death "
                                              "without an end date ends treatment; otherwise censored at last "
                                              "contact while on crizotinib"),
        ("Time to next treatment or death", "the first subsequent therapy started after the index date "
                                            "(st_start_date) or death, whichever first; otherwise censored at "
                                            "last contact: a next treatment is an event however crizotinib ended"),
    ]
