"""Escalate: what stays unpaid in; escalations, credit holds, write-off proposals, cases (disputes,
deductions, promises) and a person's decisions on them out."""
