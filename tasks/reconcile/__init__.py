"""Reconcile: unapplied payments and open invoices in; allocations, short-payment deductions, the
exception queue and suggestions out."""
