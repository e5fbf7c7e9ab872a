"""Billing: the ledger, invoices and credit notes; starts charging on ActivationCompleted."""
