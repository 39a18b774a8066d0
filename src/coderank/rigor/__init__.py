"""Rigor checks: contamination, test augmentation, perturbation."""
